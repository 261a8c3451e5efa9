"""Distances between gradient fields: one pair with breakdowns, or all pairs by one chunked matrix product.

``d(m, n) = mean_{i,k} [1 - cos(F_m[i,k], F_n[i,k])]`` in ``[0, 2]``. For a matrix, each ``(i, k)`` row is scaled to
unit length and the field flattened to ``U_m``; then ``D = 1 - U U^T / (N S)``, computed as a sum of Gram matrices
over chunks of reference inputs so that memory stays bounded by ``M x chunk`` whatever the zoo size.

Where a field vanishes at a point (a dead ReLU region, a saturated output) the cosine is undefined. gifviz counts two
vanishing fields as agreeing (cos = 1) and a vanishing field against a non-vanishing one as unrelated (cos = 0). This
keeps ``d(m, m) = 0`` true by construction; the matrix path adds the Gram matrix of the vanishing-point indicators.
The Gram-to-distance arithmetic is :mod:`gifviz.distance.gram`'s, shared with the streamed and sketched matrices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from gifviz.constants import METRICS
from gifviz.distance.gram import (
    cosine_distance,
    cosine_gram,
    gram_distances,
    symmetric_zero_diagonal,
    unit_rows,
    vanishing,
)
from gifviz.distance.matrix import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.field.result import Field


@dataclasses.dataclass(frozen=True)
class FieldDistance:
    """Distance between two fields with its breakdowns.

    Attributes:
        value: the distance (mean over inputs and steps for ``cosine``).
        per_point: ``(N, S)`` pointwise term: ``1 - cos`` (cosine variants) or ``||F_m - F_n||`` (euclidean).
        metric: which variant.
    """

    value: float
    per_point: np.ndarray
    metric: str

    @property
    def per_step(self) -> np.ndarray:
        """``(S,)`` mean over inputs of the pointwise term: how the disagreement evolves along the path."""
        return self.per_point.mean(axis=0)

    @property
    def per_input(self) -> np.ndarray:
        """``(N,)`` mean over steps of the pointwise term: which reference inputs separate the models."""
        return self.per_point.mean(axis=1)


def pointwise_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N, S, D)`` x ``(N, S, D)`` -> ``(N, S)`` cosines, with both-vanishing points counted as 1."""
    return (unit_rows(a) * unit_rows(b)).sum(dim=-1) + vanishing(a) * vanishing(b)


def _values(field: Field | torch.Tensor) -> torch.Tensor:
    return field.values if isinstance(field, Field) else torch.as_tensor(field)


def check_comparable(fields: Sequence[Field | torch.Tensor]) -> None:
    """Fields must share shape, and (when they say) the references and config they were computed with."""
    shapes = {tuple(_values(f).shape) for f in fields}
    if len(shapes) > 1:
        raise ConfigError(f"fields have different shapes {sorted(shapes)}; compute them with one config and ref set")
    described = [f for f in fields if isinstance(f, Field)]
    configs = {f.config.to_json(for_key=True) for f in described}
    if len(configs) > 1:
        raise ConfigError("fields were computed with different FieldConfigs; recompute them with one config")
    references = {f.reference_names for f in described if f.reference_names}
    if len(references) > 1:
        raise ConfigError("fields were computed on different reference sets; recompute them on one set")


def field_distance(a: Field | torch.Tensor, b: Field | torch.Tensor, metric: str = "cosine") -> FieldDistance:
    """Distance between two fields ``(N, S, D)`` with per-point ``(N, S)``, per-step and per-input breakdowns."""
    if metric not in METRICS:
        raise ConfigError(f"metric={metric!r} is not supported; choose one of: {', '.join(METRICS)}")
    check_comparable([a, b])
    va, vb = _values(a).double(), _values(b).double()
    if metric == "euclidean":
        per_point = (va - vb).norm(dim=-1)
        value = float(per_point.pow(2).mean().sqrt())
    else:
        per_point = 1.0 - pointwise_cosine(va, vb)
        value = float(per_point.mean()) if metric == "cosine" else float(per_point.mean(dim=0).max())
    return FieldDistance(value=value, per_point=per_point.numpy(), metric=metric)


def _gram_chunks(fields: Sequence[torch.Tensor], normalize: bool, chunk_inputs: int):
    """Yield ``(i0, i1, block, zero)``: inputs ``i0:i1`` of every field, ``(M, n_chunk, S, D)`` float32 (unit rows
    when ``normalize``), and the vanishing-point indicators ``(M, n_chunk, S)`` (``None`` without ``normalize``)."""
    n = fields[0].shape[0]
    for i0 in range(0, n, chunk_inputs):
        i1 = min(i0 + chunk_inputs, n)
        block = torch.stack([f[i0:i1].float() for f in fields])  # (M, n_chunk, S, D)
        if normalize:
            yield i0, i1, unit_rows(block), vanishing(block)
        else:
            yield i0, i1, block, None


def distance_matrix(
    fields: Sequence[Field | torch.Tensor],
    labels: Sequence[str] | None = None,
    metric: str = "cosine",
    *,
    chunk_inputs: int = 8,
    provenance: dict | None = None,
) -> DistanceMatrix:
    """Pairwise distances of ``M`` fields ``(N, S, D)`` as a labelled ``(M, M)`` matrix, by chunked matrix products.

    Exactly symmetric with a zero diagonal. ``chunk_inputs`` reference inputs of all models are held at once.
    """
    if metric not in METRICS:
        raise ConfigError(f"metric={metric!r} is not supported; choose one of: {', '.join(METRICS)}")
    if not fields:
        raise ConfigError("distance_matrix needs at least one field")
    check_comparable(fields)
    if labels is None:
        labels = [f.model_id if isinstance(f, Field) and f.model_id else f"model{i}" for i, f in enumerate(fields)]
    if len(labels) != len(fields) or len(set(labels)) != len(labels):
        raise ConfigError("distance_matrix needs one unique label per field")
    values = [_values(f) for f in fields]
    m = len(values)
    n, s, _ = values[0].shape
    if metric == "cosine":
        gram = torch.zeros((m, m), dtype=torch.float64)
        for _, _, block, zero in _gram_chunks(values, True, chunk_inputs):
            flat, zero_flat = block.flatten(1), zero.flatten(1)
            gram += cosine_gram(flat, zero_flat, flat, zero_flat)
        matrix = gram_distances(gram, n * s)
    elif metric == "euclidean":
        gram = torch.zeros((m, m), dtype=torch.float64)
        for _, _, block, _ in _gram_chunks(values, False, chunk_inputs):
            flat = block.flatten(1)
            gram += (flat @ flat.T).double()
        squared = gram.diag()[:, None] + gram.diag()[None, :] - 2 * gram
        matrix = symmetric_zero_diagonal((squared.clamp_min(0) / (n * s)).sqrt().numpy())
    else:  # cosine_max_step: one Gram per path step
        per_step = torch.zeros((s, m, m), dtype=torch.float64)
        for _, _, block, zero in _gram_chunks(values, True, chunk_inputs):
            steps_first = block.permute(2, 0, 1, 3).flatten(2)  # (S, M, n_chunk * D)
            zero_first = zero.permute(2, 0, 1)  # (S, M, n_chunk)
            per_step += (steps_first @ steps_first.transpose(1, 2)).double()
            per_step += (zero_first @ zero_first.transpose(1, 2)).double()
        matrix = symmetric_zero_diagonal(cosine_distance(per_step, n).amax(dim=0).numpy())
    info = dict(provenance or {})
    described = [f for f in fields if isinstance(f, Field)]
    if described:
        info.setdefault("field_config", described[0].config.to_dict())
        info.setdefault("reference_names", list(described[0].reference_names))
    info["metric"] = metric
    info["field_shape"] = [int(n), int(s), int(values[0].shape[2])]
    return DistanceMatrix(labels=tuple(labels), values=matrix, metric=metric, provenance=info)
