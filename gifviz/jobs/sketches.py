"""Distances of zoos too large to hold every field: one field at a time, kept only as its sketch."""

from __future__ import annotations

from collections.abc import Sequence

from gifviz.config import FieldConfig
from gifviz.hub.zoo import Zoo
from gifviz.jobs.runner import RunSummary, store_fields
from gifviz.matrix import DistanceMatrix
from gifviz.pipeline import ZooProgress, provenance
from gifviz.refs import ReferenceSet
from gifviz.sketch import SKETCH_DIM, SKETCH_SEED, FieldSketch, sketch_distance_matrix, sketch_field
from gifviz.store import FieldStore


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
) -> list[FieldSketch]:
    """One sketch per model; each field comes from the store (or is computed and stored) and is dropped once sketched,
    so memory holds one field however large the zoo."""
    sketches = []
    for model_id in ids:
        field = store_fields(zoo, references, config, [model_id], store, progress=progress, summary=summary)[model_id]
        sketches.append(sketch_field(field, dim, seed))
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
) -> DistanceMatrix:
    """Approximate cosine distances ``(M, M)`` of the zoo's models from CountSketches of their fields."""
    sketches = zoo_sketches(zoo, references, config, ids, store, dim=dim, progress=progress, summary=summary)
    matrix = sketch_distance_matrix(sketches, list(ids))
    info = provenance(zoo, references, config, ids) | matrix.provenance
    return DistanceMatrix(matrix.labels, matrix.values, matrix.metric, info)
