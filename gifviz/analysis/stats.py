"""Uncertainty of a distance over the choice of reference images: bootstrap confidence intervals."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Interval:
    """``estimate`` with a ``level`` confidence interval ``[low, high]`` from ``resamples`` bootstrap draws."""

    estimate: float
    low: float
    high: float
    level: float
    resamples: int


def bootstrap_mean(per_input: np.ndarray, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> Interval:
    """Percentile bootstrap over reference inputs of the mean of ``per_input`` ``(N,)`` (e.g. a per-input distance).

    Resampling whole inputs (with all their path steps) keeps the steps of one input together, which is where the
    dependence is.
    """
    values = np.asarray(per_input, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2
    return Interval(float(values.mean()), float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)), level,
                    resamples)  # fmt: skip
