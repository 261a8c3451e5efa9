"""ModelGiF as a distance method: a model's signature is its gradient field ``(N, S, D)``, two models' distance the
mean over references and steps of ``1 - cos`` of their fields (:mod:`gifviz.distance`).

Fields come from the field store when it holds them and are stored once computed, so a method run, a CLI command and
the app never compute the same field twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from gifviz.config import FieldConfig
from gifviz.distance import distance_matrix, field_distance
from gifviz.errors import GifvizError
from gifviz.hub.spec import LoadedModel
from gifviz.hub.zoo import Zoo
from gifviz.jobs.runner import RunSummary, store_fields
from gifviz.methods.interface import DistanceMethod, MethodInputs, Signature
from gifviz.pipeline import ZooProgress, field_of
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore


@dataclasses.dataclass(frozen=True)
class FieldContext:
    """What every model's field is computed on: the references, the field configuration and the store."""

    references: ReferenceSet
    config: FieldConfig
    store: FieldStore | None


def field_context(inputs: MethodInputs, probe: LoadedModel | None) -> FieldContext:
    """ModelGiF evaluates every model on the references themselves, whoever asks."""
    return FieldContext(inputs.references, inputs.field, inputs.store)


def field_signature(model: LoadedModel, context: FieldContext) -> Signature:
    """The field ``(N, S, D)`` of a loaded model, from the store when it holds it."""
    config, references, store = context.config, context.references, context.store
    if store is None:
        return Signature(field_of(model, references, config).values)
    refs_digest = references.field_digest(config)
    field = store.get_or_compute(
        store.key_for(model.digest, refs_digest, config),
        lambda: field_of(model, references, config),
        model_digest=model.digest,
        refs_digest=refs_digest,
        device=config.device,
    )
    return Signature(field.values)


def zoo_field_signatures(
    zoo: Zoo,
    ids: Sequence[str],
    context: FieldContext,
    progress: ZooProgress | None,
    unread: dict[str, GifvizError] | None = None,
) -> dict[str, Signature]:
    """Fields of a zoo's models through :func:`gifviz.jobs.runner.store_fields` (stored ones are only read). With
    ``unread``, a model whose field cannot be had (it does not load, its gradients are not finite) is left out and
    recorded there, and the others are still read."""
    summary = RunSummary()
    fields = store_fields(
        zoo,
        context.references,
        context.config,
        list(ids),
        context.store,
        progress=progress,
        summary=summary,
        skip_bad=unread is not None,
    )
    if unread is not None:
        unread.update({model_id: GifvizError(reason) for model_id, reason in summary.skipped.items()})
    return {model_id: Signature(field.values) for model_id, field in fields.items()}


def per_input_distance(a: Signature, b: Signature) -> np.ndarray:
    """``(N,)``: the mean over steps of ``1 - cos`` at each reference."""
    return np.asarray(field_distance(a.values, b.values).per_input, dtype=np.float64)


def field_compare(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    values = per_input_distance(a, b)
    return float(values.mean() if rows is None else values[rows].mean())


def field_matrix(signatures: Sequence[Signature]) -> np.ndarray:
    """All pairs at once through one Gram matrix (:func:`gifviz.distance.distance_matrix`)."""
    labels = [str(i) for i in range(len(signatures))]
    return distance_matrix([s.values for s in signatures], labels, "cosine").values


def field_evaluations(context: FieldContext) -> int:
    """One forward and backward pass per reference and path step."""
    return len(context.references) * context.config.steps


MODELGIF = DistanceMethod(
    name="modelgif",
    title="ModelGiF",
    citation="Song et al., ICCV 2023",
    access="white-box",
    prepare=field_context,
    signature=field_signature,
    compare=field_compare,
    evaluations=field_evaluations,
    per_sample=per_input_distance,
    zoo_signatures=zoo_field_signatures,
    all_pairs=field_matrix,
)
