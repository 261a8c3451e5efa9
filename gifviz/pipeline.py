"""Per-model steps of a zoo run (load, check, compute one field), the progress protocol, and provenance.

:func:`field_of` is the one place where a loaded model meets the field engine: the local executor
(:func:`model_field`), the Ray task (:mod:`gifviz.jobs.ray_tasks`) and the app all call it, so they cannot drift apart
(the reference labels for ``target="label"``, the input space's value range for the noise baseline, the model id
in errors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import torch

from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.field.baselines import make_baselines
from gifviz.field.engine import compute_field
from gifviz.field.result import Field
from gifviz.field.targets import resolve_target
from gifviz.hub.spec import LoadedModel
from gifviz.hub.zoo import Zoo
from gifviz.refs import ReferenceSet

if TYPE_CHECKING:  # the store is only passed through here
    from gifviz.store import FieldStore


class ZooProgress(Protocol):
    """Receives progress of a zoo run: one ``start`` per model, ``advance`` per chunk, ``finish`` per model."""

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None: ...

    def advance(self, points_done: int, total_points: int) -> None: ...

    def finish(self, model_id: str) -> None: ...


def field_of(
    model: LoadedModel,
    references: ReferenceSet,
    config: FieldConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Field:
    """The field ``(N, S, D)`` of a loaded ``model`` on ``references`` ``(N, C, H, W)``: through the model's own
    preprocess, with the references' names and labels (``target="label"``) and the model's input space (its value
    range bounds the noise baseline).

    ``progress(points_done, points_total)`` is called after each chunk of path points; ``should_stop`` is polled
    after each chunk and stops the computation with :class:`~gifviz.errors.Cancelled`.
    """
    return compute_field(
        model.module,
        references,
        config,
        model.preprocess,
        value_range=model.space.value_range,
        model_id=model.id,
        progress=progress,
        should_stop=should_stop,
    )


def model_field(
    zoo: Zoo,
    model_id: str,
    references: ReferenceSet,
    config: FieldConfig,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Field:
    """The field ``(N, S, D)`` of one zoo model on ``references`` (:func:`field_of` of the loaded model)."""
    return field_of(zoo.load(model_id), references, config, progress=progress, should_stop=should_stop)


def check_model(
    zoo: Zoo, model_id: str, references: ReferenceSet, config: FieldConfig, gradient_references: int = 2
) -> None:
    """Fail fast, before any long computation: load the model, fix its target at the reference endpoints, and take
    the field of the first ``gradient_references`` references (``k * S`` path points of the run's ``N * S``).

    The small field uses the run's own baselines (made from all ``N`` references, then sliced), so its path points
    are exactly points of the full field: a non-finite gradient there (``sqrt`` or ``log`` at 0) would make the full
    field non-finite too, and raises :class:`~gifviz.errors.NonFiniteFieldError` naming the model. Non-finite
    gradients on the other references are still caught by the engine during the run.
    """
    model = zoo.load(model_id)
    if config.layer is None:  # layer targets are checked by the small field below, once the hook is in place
        with torch.no_grad():
            outputs = model.wrapped()(references.images)
        resolve_target(outputs, config, references.labels, model_id)
    count = min(gradient_references, len(references))
    if count < 1:
        return
    images = references.images.to(getattr(torch, config.dtype))
    baselines = make_baselines(images, config, zoo.space.value_range)[:count]
    compute_field(
        model.module,
        references.head(count),
        config,
        model.preprocess,
        baselines=baselines,
        value_range=zoo.space.value_range,
        model_id=model_id,
    )


def check_models(
    zoo: Zoo,
    ids: Sequence[str],
    references: ReferenceSet,
    config: FieldConfig,
    store: FieldStore | None = None,
    *,
    skip_bad: bool = False,
) -> dict[str, str]:
    """:func:`check_model` for each of ``ids``; returns model id -> one-line reason for those that fail.

    Without ``skip_bad`` the first failure is raised instead. A model whose field ``store`` already holds is not
    checked again: that field was computed from the same model, references and configuration (so its target
    resolved), and the store never keeps a non-finite one, so a cached rerun costs no forward or backward pass.
    """
    refs_digest = references.field_digest(config) if store is not None else ""
    failed: dict[str, str] = {}
    for model_id in ids:
        try:
            if store is not None and store.contains(store.key_for(zoo.load(model_id).digest, refs_digest, config)):
                continue
            check_model(zoo, model_id, references, config)
        except GifvizError as error:
            if not skip_bad:
                raise
            failed[model_id] = str(error)
    return failed


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
