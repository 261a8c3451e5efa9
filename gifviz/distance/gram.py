"""The cosine arithmetic that the exact, streamed and sketched matrices share.

Each of them is ``D = 1 - G / (N S)``: ``G[a, b]`` sums the cosines of models ``a`` and ``b`` over the ``N S`` points
of their fields, that is inner products of unit rows plus one for each point where both fields vanish (DESIGN.md,
section 1). They differ only in how they build ``G`` (all fields at once, two blocks of models at a time, or from
sketches); turning ``G`` into a distance matrix, and the conventions that come with it, live here once.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

_EPS = 1e-30

Array = TypeVar("Array", torch.Tensor, np.ndarray)


def unit_rows(values: torch.Tensor) -> torch.Tensor:
    """``(..., D)`` -> rows scaled to unit L2 norm; all-zero rows stay zero."""
    norms = values.norm(dim=-1, keepdim=True)
    return values / norms.clamp_min(_EPS)


def vanishing(values: torch.Tensor) -> torch.Tensor:
    """``(..., D)`` -> ``(...)`` 1.0 where the row is all zero, else 0.0 (same dtype)."""
    return (values.abs().amax(dim=-1) == 0).to(values.dtype)


def cosine_gram(
    units_a: torch.Tensor, zeros_a: torch.Tensor, units_b: torch.Tensor, zeros_b: torch.Tensor
) -> torch.Tensor:
    """Sums of pointwise cosines ``(A, B)`` float64 of ``A`` models against ``B`` models.

    Args:
        units_a: ``(A, P * D)`` unit rows (:func:`unit_rows`) of ``P`` points, flattened per model.
        zeros_a: ``(A, P)`` vanishing indicators (:func:`vanishing`) of the same points.
        units_b, zeros_b: the same for the ``B`` models.

    Two vanishing points count as agreeing (cos = 1): their indicators' product adds the one that the zero unit rows
    cannot give. Each product is summed in float32 and the two are added in float64.
    """
    return (units_a @ units_b.T).double() + (zeros_a @ zeros_b.T).double()


def cosine_distance(gram: Array, points: float) -> Array:
    """``1 - gram / points``: sums of ``points`` cosines -> mean cosine distances in ``[0, 2]``, elementwise.

    ``gram`` is a whole Gram matrix ``(M, M)``, a block of its rows, or a stack of them (one per path step); the
    result has its type and dtype. ``points`` is the number of cosines each entry sums (``N S`` for a whole field,
    ``N`` for one step, 1 for a Gram that is already a mean).
    """
    return 1.0 - gram / points


def symmetric_zero_diagonal(distances: np.ndarray) -> np.ndarray:
    """``(M, M)`` -> a new ``(M, M)`` exactly symmetric with a zero diagonal.

    The mean with the transpose removes the rounding difference of ``d(a, b)`` and ``d(b, a)`` (two different
    products or blocks); a model's distance to itself is zero by definition, not the ``1e-16`` that rounding leaves.
    """
    distances = (distances + distances.T) / 2.0
    np.fill_diagonal(distances, 0.0)
    return distances


def gram_distances(gram: torch.Tensor | np.ndarray, points: float) -> np.ndarray:
    """A whole Gram matrix ``(M, M)`` float64 of sums of ``points`` cosines -> the cosine distance matrix ``(M, M)``
    float64: :func:`cosine_distance`, then :func:`symmetric_zero_diagonal`."""
    distances = cosine_distance(gram, points)
    return symmetric_zero_diagonal(distances.numpy() if isinstance(distances, torch.Tensor) else distances)
