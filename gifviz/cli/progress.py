"""Terminal progress for zoo runs: one bar per model with points/s and an ETA (tqdm)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class TerminalProgress:
    """A :class:`gifviz.pipeline.ZooProgress` that draws tqdm bars on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._done = 0

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None:
        self._done = 0
        self._bar = tqdm(
            total=total_points,
            desc=f"[{position + 1}/{count}] {model_id}",
            unit="pt",
            file=sys.stderr,
            disable=not self.enabled,
            dynamic_ncols=True,
        )

    def advance(self, points_done: int, total_points: int) -> None:
        if self._bar is not None:
            self._bar.update(points_done - self._done)
            self._done = points_done

    def method(self, name: str) -> None:
        if self.enabled:
            print(f"gifviz: running {name}", file=sys.stderr)

    def finish(self, model_id: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
