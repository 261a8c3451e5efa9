"""Zeroth-order input gradients: a model's gradient estimated from its outputs alone, for models you can only query.

The estimate at a path point ``p`` uses ``K = queries / 2`` orthonormal directions ``u_1..u_K`` of the input space and
antithetic central differences::

    s_j = (y(p + h u_j) - y(p - h u_j)) / (2 h)          (the slope of the target along u_j)
    g_hat(p) = sum_j s_j u_j                              (B^T B g for the basis B, rows u_j)

The directions are the ``K`` lowest-frequency functions of the 2-D DCT-II of each channel (ordered by ``u^2 + v^2``,
all channels of one frequency together), so the estimate is the gradient low-pass filtered: its projection onto the
smoothest ``K`` patterns of the space. Every query of a chunk of path points (``B * 2K`` inputs) goes to the model in
one batch.

**Bias and variance.** Bias has two parts. (1) Projection: ``g_hat -> B^T B g``, which drops the gradient's energy
above the cut-off; with ``K >= D`` (``D = C*H*W``) the basis is complete and the projection is the gradient itself.
(2) Finite differences: ``O(h^2 |y'''|)`` per direction on smooth models; on ReLU networks the central difference is
the mean slope over ``[-h, h]`` along ``u_j`` (exact where no kink lies within ``h``). ``h`` is
:data:`STEP` times the width of the input range, so a direction moves each input value by about ``h / sqrt(D)``.
The estimator is deterministic (no random directions), so its variance is zero: the result depends on the budget and
not on ``seed``.

Measured on one model of each of the built-in zoo's seven architectures (3x32x32, D = 3072; N = 8 references,
S = 4; ``python benchmarks/zeroth_order.py``, results in ``benchmarks/results/zeroth_order.txt``), against two
random-direction schemes at the same K that are given exact directional derivatives: Gaussian directions in the full
space (``g_hat = (1/K) sum_j s_j u_j``: unbiased, but with variance about ``(D / K) |g|^2``) and Gaussian directions
on a coarse grid upsampled. Mean cosine of the field's maps to the autograd field, low-frequency / Gaussian / coarse:
at 512 queries per point 0.57/0.34/0.47 (``cnn_deep``), 0.45/0.33/0.42 (``resnet_tiny``), 0.50/0.31/0.38
(``vit_tiny``), 0.99/0.30/0.61 (``mlp``), 0.41/0.32/0.35 and 0.35/0.30/0.29 (``cnn_wide``, ``cnn_small``), and
0.25/0.29/0.23 on ``tv_shufflenet``, whose gradients are the least smooth; at 32 and 128 queries the three are level
on the small CNNs and the low-frequency basis leads on the others. Random directions pay their variance, the fixed
basis only its bias. A 3x32x32 field stays a coarse estimate at these budgets (a complete basis costs 6144 queries
per point); on a 1x16x16 space (D = 256) the default 512 queries span the whole space and the cosine to autograd is
1.00 (``tests/test_zeroth_order.py``).

The queries per point are ``2 * min(K, D)``: directions beyond the space's size would repeat information, so they are
not spent. :func:`queries_per_point` gives the number.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from gifviz.config import FieldConfig
from gifviz.field.targets import TargetState, target_scalar

# Finite-difference step as a fraction of the input range's width, along a unit-norm direction. Small enough that a
# ReLU network's slopes barely average over kinks, large enough that float32 outputs (7 digits) keep about 4 digits
# of each slope.
STEP = 1e-2


def directions_count(config: FieldConfig, shape: tuple[int, int, int]) -> int:
    """``K``, the directions one path point is differentiated along, for inputs of ``shape`` ``(C, H, W)``."""
    assert config.queries is not None, "zeroth-order configs carry a budget"
    channels, height, width = shape
    return min(config.queries // 2, channels * height * width)


def queries_per_point(config: FieldConfig, shape: tuple[int, int, int]) -> int:
    """Model queries spent on one path point: two per direction."""
    return 2 * directions_count(config, shape)


def _dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II ``(n, n)`` float64: row ``u`` is the ``u``-th cosine over ``n`` samples."""
    positions = torch.arange(n, dtype=torch.float64)
    frequencies = torch.arange(n, dtype=torch.float64).view(-1, 1)
    matrix = torch.cos(math.pi * (2 * positions + 1) * frequencies / (2 * n)) * math.sqrt(2.0 / n)
    matrix[0] /= math.sqrt(2.0)
    return matrix


@functools.lru_cache(maxsize=8)
def _basis_float64(shape: tuple[int, int, int], count: int) -> torch.Tensor:
    channels, height, width = shape
    rows, columns = _dct_matrix(height), _dct_matrix(width)
    # Lowest spatial frequency first; all channels of a frequency together, so colour inputs keep their channels
    # balanced whatever the cut-off.
    order = sorted((u * u + v * v, u, v) for u in range(height) for v in range(width))
    basis = torch.zeros((count, channels, height, width), dtype=torch.float64)
    index = 0
    for _, u, v in order:
        pattern = torch.outer(rows[u], columns[v])
        for channel in range(channels):
            if index == count:
                return basis
            basis[index, channel] = pattern
            index += 1
    return basis


def direction_basis(
    shape: tuple[int, int, int], count: int, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """The ``count`` lowest-frequency orthonormal directions ``(K, C, H, W)`` of inputs of ``shape`` ``(C, H, W)``
    (per-channel 2-D DCT-II functions; ``count <= C*H*W``)."""
    channels, height, width = shape
    if not 1 <= count <= channels * height * width:
        raise ValueError(f"count={count} must be in [1, {channels * height * width}] for inputs of shape {shape}")
    return _basis_float64(tuple(shape), count).to(device=device, dtype=dtype)


def zeroth_order_gradient(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: torch.Tensor,
    config: FieldConfig,
    state: TargetState,
    basis: torch.Tensor,
    step: float,
    point_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Estimated gradient ``(B, C, H, W)`` of the target scores at ``points`` ``(B, C, H, W)``, each scaled by its
    ``point_weights`` ``(B,)`` when given; the same contract as the engine's autograd chunk step.

    ``basis`` ``(K, C, H, W)``: orthonormal directions (:func:`direction_basis`); ``step``: ``h`` in input units.
    ``function`` receives all ``B * 2K`` queries in one batch, ordered point by point (``+h u_1..u_K``, then
    ``-h u_1..u_K``), and no gradient is ever taken through it.
    """
    count = basis.shape[0]
    batch = points.shape[0]
    offsets = basis * step
    with torch.no_grad():
        # (B, 2K, C, H, W): for each point its K forward and K backward neighbours.
        queries = torch.cat([points.unsqueeze(1) + offsets, points.unsqueeze(1) - offsets], dim=1)
        outputs = function(queries.flatten(0, 1))
        owners = torch.arange(batch, device=points.device).repeat_interleave(2 * count)
        scores = target_scalar(outputs, config, state.rows(owners)).to(points.dtype).view(batch, 2, count)
        slopes = (scores[:, 0] - scores[:, 1]) / (2 * step)  # (B, K) directional derivatives
        if point_weights is not None:
            slopes = slopes * point_weights.view(-1, 1)
        gradient = slopes @ basis.flatten(1)  # sum_j s_j u_j
    return gradient.view_as(points)
