"""Per-model steps of a zoo run (load, check, compute one field), the progress protocol, and provenance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch

from gifviz.config import FieldConfig
from gifviz.field import Field, compute_field
from gifviz.hub.zoo import Zoo
from gifviz.refs import ReferenceSet
from gifviz.space import PreprocessedModel
from gifviz.targets import resolve_target


class ZooProgress(Protocol):
    """Receives progress of a zoo run: one ``start`` per model, ``advance`` per chunk, ``finish`` per model."""

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None: ...

    def advance(self, points_done: int, total_points: int) -> None: ...

    def finish(self, model_id: str) -> None: ...


def model_field(
    zoo: Zoo,
    model_id: str,
    references: ReferenceSet,
    config: FieldConfig,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Field:
    """The field ``(N, S, D)`` of one zoo model on ``references``."""
    model = zoo.load(model_id)
    return compute_field(
        model.module,
        references,
        config,
        model.preprocess,
        value_range=zoo.space.value_range,
        model_id=model_id,
        progress=progress,
        should_stop=should_stop,
    )


def check_model(zoo: Zoo, model_id: str, references: ReferenceSet, config: FieldConfig) -> None:
    """Fail fast, before any long computation: load the model and fix its target at the reference endpoints."""
    model = zoo.load(model_id)
    if config.layer is not None:
        return  # layer targets are checked when the hook is in place
    with torch.no_grad():
        outputs = PreprocessedModel(model.module, model.preprocess)(references.images)
    resolve_target(outputs, config, references.labels, model_id)


def provenance(zoo: Zoo, references: ReferenceSet, config: FieldConfig, ids: Sequence[str]) -> dict:
    """What a distance export must say about its inputs: zoo, FieldConfig, references in order, model digests."""
    return {
        "zoo": zoo.name,
        "manifest": str(zoo.manifest.path) if zoo.manifest.path else None,
        "field_config": config.to_dict(),
        "reference_names": list(references.names),
        "reference_digest": references.digest(),
        "model_digests": {model_id: zoo.load(model_id).digest for model_id in ids},
    }
