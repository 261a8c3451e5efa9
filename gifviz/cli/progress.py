"""Terminal progress for zoo runs: one bar per model with points/s and an ETA (tqdm); queries/s too for fields
estimated from model queries (zeroth-order)."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class TerminalProgress:
    """A :class:`gifviz.pipeline.ZooProgress` that draws tqdm bars on stderr.

    ``queries_per_point``: model queries each path point costs (a zeroth-order field's ``2 * K``); when given, each
    bar also shows the model queries per second.
    """

    def __init__(self, enabled: bool = True, queries_per_point: int | None = None) -> None:
        self.enabled = enabled
        self.queries_per_point = queries_per_point
        self._bar: tqdm | None = None
        self._done = 0
        self._started = 0.0

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
        self._started = time.monotonic()

    def advance(self, points_done: int, total_points: int) -> None:
        if self._bar is not None:
            if self.queries_per_point:
                rate = points_done * self.queries_per_point / max(time.monotonic() - self._started, 1e-9)
                self._bar.set_postfix_str(f"{rate:,.0f} queries/s", refresh=False)
            self._bar.update(points_done - self._done)
            self._done = points_done

    def method(self, name: str) -> None:
        if self.enabled:
            print(f"gifviz: running {name}", file=sys.stderr)

    def finish(self, model_id: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
