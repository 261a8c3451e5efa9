"""Zoo: a manifest plus loading, filtering and describing its models."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gifviz.errors import GifvizError
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import Manifest, load_manifest
from gifviz.hub.spec import LoadedModel, ModelSpec
from gifviz.space import InputSpace


class Zoo:
    """The models of one manifest, loaded on demand and kept once loaded."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self._loaded: dict[str, LoadedModel] = {}

    @classmethod
    def open(cls, path: str | Path) -> Zoo:
        return cls(load_manifest(path))

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def space(self) -> InputSpace:
        return self.manifest.space

    @property
    def specs(self) -> tuple[ModelSpec, ...]:
        return self.manifest.specs

    @property
    def ids(self) -> tuple[str, ...]:
        return self.manifest.ids

    def spec(self, model_id: str) -> ModelSpec:
        return self.manifest.spec(model_id)

    def load(self, model_id: str) -> LoadedModel:
        """The loaded model ``model_id`` (loaded once, then reused)."""
        if model_id not in self._loaded:
            self._loaded[model_id] = load_model(self.spec(model_id), self.space)
        return self._loaded[model_id]

    def load_all(self, ids: Iterable[str] | None = None) -> list[LoadedModel]:
        """Every model (or ``ids``), failing on the first that cannot be loaded."""
        return [self.load(model_id) for model_id in (ids or self.ids)]

    def load_available(self, ids: Iterable[str] | None = None) -> tuple[list[LoadedModel], dict[str, GifvizError]]:
        """The models that load, and for each one that does not, its error: one bad file spoils nothing else."""
        loaded, errors = [], {}
        for model_id in ids or self.ids:
            try:
                loaded.append(self.load(model_id))
            except GifvizError as error:
                errors[model_id] = error
        return loaded, errors

    def filter(
        self,
        *,
        task: str | None = None,
        arch: str | None = None,
        source: str | None = None,
        relation: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> list[ModelSpec]:
        """Specs matching every given criterion (``source`` matches the scheme, e.g. ``torchvision``)."""
        selected = []
        for spec in self.specs:
            if task is not None and spec.task != task:
                continue
            if arch is not None and spec.arch != arch:
                continue
            if source is not None and spec.kind != source:
                continue
            if relation is not None and spec.relation != relation:
                continue
            if tags and any(str(spec.tags.get(k)) != str(v) for k, v in tags.items()):
                continue
            selected.append(spec)
        return selected
