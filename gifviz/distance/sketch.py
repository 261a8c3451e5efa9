"""Random sketches of normalized fields, for distance matrices of many thousands of models.

The cosine distance of two fields is ``1 - <U_a, U_b> / (N S)`` where ``U`` holds the unit-normalized rows of a field
(DESIGN.md, section 1). A CountSketch (Charikar et al., 2002) maps ``U`` ``(N*S*D,)`` to ``(dim,)`` with a seeded
random bucket and sign per coordinate; inner products are preserved in expectation with a standard deviation of about
``sqrt(2 / dim)`` relative to ``N S``. Every model must be sketched with the same seed and shape, so one sketch matrix
``(M, dim)`` gives all ``M^2`` distances in one matrix product. The vanishing-point indicators ``(N*S,)`` are kept
exactly, so the convention that two vanishing points agree holds as it does in the exact matrix.

Written here because the projection must be applied to each model on its own, stored, and reused: scikit-learn's
random projections hold a dense or sparse ``(dim, N*S*D)`` matrix, which at ``N*S*D`` in the millions is large,
while a CountSketch needs one bucket and one sign per coordinate and costs one pass over the field.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from gifviz.constants import SKETCH_DIM
from gifviz.distance.gram import cosine_distance, symmetric_zero_diagonal, unit_rows, vanishing
from gifviz.distance.matrix import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.field.result import Field

SKETCH_SEED = 0


@dataclasses.dataclass(frozen=True)
class FieldSketch:
    """A field's sketch: ``values`` ``(dim,)`` float32, ``vanishing`` ``(N*S,)`` float32, and the field shape."""

    values: torch.Tensor
    vanishing: torch.Tensor
    shape: tuple[int, int, int]
    seed: int


@functools.lru_cache(maxsize=4)
def _hashes(length: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    buckets = torch.randint(0, dim, (length,), generator=generator)
    signs = torch.randint(0, 2, (length,), generator=generator, dtype=torch.int8).float() * 2 - 1
    return buckets, signs


def sketch_field(field: Field | torch.Tensor, dim: int = SKETCH_DIM, seed: int = SKETCH_SEED) -> FieldSketch:
    """The CountSketch of a field ``(N, S, D)``: unit rows, flattened, scaled so that ``||U|| = 1`` when no row
    vanishes, then hashed into ``dim`` buckets with random signs."""
    if dim < 16:
        raise ConfigError(f"sketch dimension {dim} is too small to be useful; use at least 16 (default {SKETCH_DIM})")
    values = (field.values if isinstance(field, Field) else field).float()
    n, s, d = values.shape
    unit = unit_rows(values).flatten() / np.sqrt(n * s)
    buckets, signs = _hashes(n * s * d, dim, seed)
    sketch = torch.zeros(dim, dtype=torch.float32).index_add_(0, buckets, signs * unit)
    return FieldSketch(sketch, vanishing(values).flatten().float(), (n, s, d), seed)


def sketch_distance_matrix(sketches: list[FieldSketch], labels: list[str], chunk: int = 2048) -> DistanceMatrix:
    """Approximate cosine distances ``(M, M)`` from sketches, by blocks of ``chunk`` rows (one GEMM each)."""
    if not sketches:
        raise ConfigError("sketch_distance_matrix needs at least one sketch")
    first = sketches[0]
    if any(s.shape != first.shape or s.seed != first.seed or s.values.shape != first.values.shape for s in sketches):
        raise ConfigError("sketches differ in field shape, seed or dimension; sketch every model the same way")
    n, s, _ = first.shape
    values = torch.stack([sk.values for sk in sketches])  # (M, dim)
    zeros = torch.stack([sk.vanishing for sk in sketches])  # (M, N*S)
    m = len(sketches)
    distances = np.empty((m, m), dtype=np.float64)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        # Points where both fields vanish agree (cos = 1), weighted like every other of the N*S points. Sketches are
        # scaled by 1/sqrt(N S) (sketch_field), so this Gram is already a mean: one "point" per entry.
        gram = values[start:stop] @ values.T + (zeros[start:stop] @ zeros.T) / (n * s)
        # Sketching errors can push an estimate past [0, 2], the range of a cosine distance.
        distances[start:stop] = cosine_distance(gram, 1).clamp(0.0, 2.0).double().numpy()
    distances = symmetric_zero_diagonal(distances)
    info = {
        "sketch": {"method": "countsketch", "dim": int(first.values.shape[0]), "seed": first.seed},
        "field_shape": list(first.shape),
    }
    return DistanceMatrix(tuple(labels), distances, metric="cosine (sketch)", provenance=info)
