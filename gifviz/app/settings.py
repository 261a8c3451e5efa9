"""What the user chose (zoo, references, field options, working set), kept in the URL so a reload or a shared link
shows the same thing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gifviz.config import OUTPUT_TARGETS, FieldConfig
from gifviz.hub.builtin import builtin_root

DEFAULT_FAMILY = "lineage"
# Targets the app offers. Layer targets need a layer name, ``label`` needs labelled references and ``topk_map`` dense
# outputs: none of which a folder of reference images and a classifier zoo give.
APP_TARGETS = tuple(target for target in OUTPUT_TARGETS if target not in ("label", "topk_map"))


def builtin_manifest() -> str:
    return str(builtin_root() / "builtin" / "zoo.toml")


@dataclasses.dataclass(frozen=True)
class AppSettings:
    """Every choice that changes what the app computes or shows.

    Attributes:
        manifest: zoo manifest path (default: the built-in zoo).
        refs: reference image folder (``None``: the manifest's own).
        n_refs, steps, baseline, target, device: the field settings (see :class:`gifviz.FieldConfig`).
        method: the distance method of the Distances, Map and Clusters pages (``modelgif`` or a peer's name).
        metric: ModelGiF's distance variant.
        models: the working set of model ids (empty: the default family of the built-in zoo, or all models).
        cache_dir: field store folder (``None``: ``$GIFVIZ_HOME`` or ``~/.cache/gifviz``).
    """

    manifest: str = dataclasses.field(default_factory=builtin_manifest)
    refs: str | None = None
    n_refs: int = 128
    steps: int = 4
    baseline: str = "zeros"
    target: str = "predicted"
    device: str = "auto"
    method: str = "modelgif"
    metric: str = "cosine"
    models: tuple[str, ...] = ()
    cache_dir: str | None = None

    def replace(self, **changes: Any) -> AppSettings:
        """A copy with ``changes`` applied (the settings are frozen)."""
        return dataclasses.replace(self, **changes)

    def field_config(self) -> FieldConfig:
        return FieldConfig(steps=self.steps, baseline=self.baseline, target=self.target, device=self.device)

    def to_query(self) -> dict[str, str]:
        """Only what differs from the defaults, as strings (lists comma-joined)."""
        default = AppSettings()
        query = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == getattr(default, field.name):
                continue
            query[field.name] = ",".join(value) if isinstance(value, tuple) else str(value)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AppSettings:
        """Inverse of :meth:`to_query`; unknown keys and unparsable values fall back to the defaults."""
        values: dict = {}
        default = cls()
        for field in dataclasses.fields(cls):
            if field.name not in query:
                continue
            text = str(query[field.name])
            current = getattr(default, field.name)
            try:
                if isinstance(current, tuple):
                    values[field.name] = tuple(part for part in text.split(",") if part)
                elif isinstance(current, int):
                    values[field.name] = int(text)
                else:
                    values[field.name] = text or None
            except ValueError:
                continue
        return cls(**values)

    def manifest_exists(self) -> bool:
        return Path(self.manifest).is_file()
