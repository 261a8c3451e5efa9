"""Uncertainty of a distance over the choice of reference images: bootstrap confidence intervals."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Interval:
    """``estimate`` with a ``level`` confidence interval ``[low, high]`` from ``resamples`` bootstrap draws."""

    estimate: float
    low: float
    high: float
    level: float
    resamples: int


def bootstrap_rows(samples: int, resamples: int, seed: int) -> list[np.ndarray]:
    """``resamples`` index vectors ``(samples,)`` drawn with replacement (the bootstrap over references)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, samples, size=samples) for _ in range(resamples)]


def percentile_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values, ignoring NaN (NaN, NaN when none is finite)."""
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))


def bootstrap_mean(per_input: np.ndarray, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> Interval:
    """Percentile bootstrap over reference inputs of the mean of ``per_input`` ``(N,)`` (e.g. a per-input distance).

    Resampling whole inputs (with all their path steps) keeps the steps of one input together, which is where the
    dependence is. The same resamples and percentiles as the testbeds' intervals (:func:`bootstrap_rows`).
    """
    values = np.asarray(per_input, dtype=np.float64)
    draws = [float(values[rows].mean()) for rows in bootstrap_rows(len(values), resamples, seed)]
    low, high = percentile_interval(draws, level)
    return Interval(float(values.mean()), low, high, level, resamples)
