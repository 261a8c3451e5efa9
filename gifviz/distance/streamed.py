"""Distance matrices of more fields than fit in memory: blocks of models loaded on demand under a byte budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from gifviz.distance.gram import cosine_gram, gram_distances, unit_rows, vanishing
from gifviz.distance.matrix import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.field.result import Field

Loader = Callable[[str], "Field | torch.Tensor"]


def _block(load: Loader, labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int, int]]:
    """Unit rows ``(b, N*S*D)`` and vanishing indicators ``(b, N*S)`` of the fields of ``labels``, written into
    preallocated tensors so that memory holds the block plus one field at a time."""
    units = zeros = None
    shape = None
    for row, label in enumerate(labels):
        field = load(label)
        values = (field.values if isinstance(field, Field) else field).float()
        if shape is not None and tuple(values.shape) != shape:
            raise ConfigError(f"field of {label!r} has shape {tuple(values.shape)}, the others {shape}")
        if units is None:
            shape = tuple(values.shape)
            units = torch.empty((len(labels), values.numel()), dtype=torch.float32)
            zeros = torch.empty((len(labels), shape[0] * shape[1]), dtype=torch.float32)
        units[row] = unit_rows(values).flatten()
        zeros[row] = vanishing(values).flatten()
        del field, values
    return units, zeros, shape


def streamed_distance_matrix(
    load: Loader, labels: Sequence[str], budget_bytes: int, field_bytes: int
) -> DistanceMatrix:
    """Cosine distances ``(M, M)`` of the fields ``load(label)``, holding at most ``budget_bytes`` of fields.

    Two blocks of ``b = budget / (2 * field_bytes)`` models are in memory at a time; each block pair is one GEMM.
    Every field is loaded about ``M / b`` times, so a larger budget means less reading. Same values as
    :func:`gifviz.distance.exact.distance_matrix` (tested).
    """
    block = budget_bytes // (2 * max(field_bytes, 1))
    if block < 1:
        raise ConfigError(
            f"a memory budget of {budget_bytes:,} bytes cannot hold two fields of {field_bytes:,} "
            "bytes; raise the budget"
        )
    m = len(labels)
    gram = np.zeros((m, m), dtype=np.float64)
    shape = None
    starts = list(range(0, m, block))
    for a in starts:
        # Drop the blocks of the previous round before reading a new one: two blocks in memory at a time, not three.
        rows_a = zero_a = rows_b = zero_b = None
        rows_a, zero_a, shape = _block(load, labels[a : a + block])
        for b in starts[starts.index(a) :]:
            rows_b = zero_b = None
            rows_b, zero_b, _ = (rows_a, zero_a, shape) if b == a else _block(load, labels[b : b + block])
            part = cosine_gram(rows_a, zero_a, rows_b, zero_b)
            gram[a : a + len(rows_a), b : b + len(rows_b)] = part.numpy()
            gram[b : b + len(rows_b), a : a + len(rows_a)] = part.numpy().T
    n, s, d = shape
    distances = gram_distances(gram, n * s)
    info = {
        "streamed": {"budget_bytes": int(budget_bytes), "models_per_block": int(block)},
        "field_shape": [int(n), int(s), int(d)],
    }
    return DistanceMatrix(tuple(labels), distances, metric="cosine", provenance=info)
