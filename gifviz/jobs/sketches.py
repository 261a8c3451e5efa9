"""Distances of zoos too large to hold every field: one field at a time, kept only as its sketch."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gifviz.config import FieldConfig
from gifviz.distance import SKETCH_DIM, SKETCH_SEED, DistanceMatrix, FieldSketch, sketch_distance_matrix, sketch_field
from gifviz.hub.zoo import Zoo
from gifviz.jobs.runner import RunSummary, kept_ids, skipped_provenance, store_fields
from gifviz.pipeline import ZooProgress, provenance
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore


@dataclasses.dataclass(frozen=True)
class _ModelOfZoo:
    """Reports a one-model :func:`store_fields` call as model ``position`` of the ``count`` being sketched, so a
    progress bar counts the whole zoo instead of showing "1 of 1" per model."""

    inner: ZooProgress
    position: int
    count: int

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None:
        self.inner.start(model_id, self.position, self.count, total_points)

    def advance(self, points_done: int, total_points: int) -> None:
        self.inner.advance(points_done, total_points)

    def finish(self, model_id: str) -> None:
        self.inner.finish(model_id)


def zoo_sketches(
    zoo: Zoo,
    references: ReferenceSet,
    config: FieldConfig,
    ids: Sequence[str],
    store: FieldStore | None = None,
    *,
    dim: int = SKETCH_DIM,
    seed: int = SKETCH_SEED,
    progress: ZooProgress | None = None,
    summary: RunSummary | None = None,
    skip_bad: bool = False,
) -> dict[str, FieldSketch]:
    """model id -> sketch, in the order of ``ids``; each field comes from the store (or is computed and stored) and is
    dropped once sketched, so memory holds one field however large the zoo. With ``skip_bad`` a model whose field
    fails is left out and recorded in ``summary.skipped``."""
    sketches = {}
    for position, model_id in enumerate(ids):
        of_zoo = _ModelOfZoo(progress, position, len(ids)) if progress is not None else None
        fields = store_fields(
            zoo, references, config, [model_id], store, progress=of_zoo, summary=summary, skip_bad=skip_bad
        )
        if model_id in fields:
            sketches[model_id] = sketch_field(fields[model_id], dim, seed)
    return sketches


def zoo_sketch_distances(
    zoo: Zoo,
    references: ReferenceSet,
    config: FieldConfig,
    ids: Sequence[str],
    store: FieldStore | None = None,
    *,
    dim: int = SKETCH_DIM,
    progress: ZooProgress | None = None,
    summary: RunSummary | None = None,
    skip_bad: bool = False,
) -> DistanceMatrix:
    """Approximate cosine distances ``(M, M)`` of the zoo's models from CountSketches of their fields; with
    ``skip_bad`` the models whose field fails are left out of the matrix and listed in its provenance."""
    summary = summary if summary is not None else RunSummary()
    sketches = zoo_sketches(
        zoo, references, config, ids, store, dim=dim, progress=progress, summary=summary, skip_bad=skip_bad
    )
    kept = kept_ids(ids, sketches, summary)
    matrix = sketch_distance_matrix([sketches[i] for i in kept], kept)
    info = provenance(zoo, references, config, kept) | skipped_provenance(summary) | matrix.provenance
    return DistanceMatrix(matrix.labels, matrix.values, matrix.metric, info)
