"""One method's distance from the source to a suspect, set against the same distance to independent models.

The rule (also in the README): with ``n`` independents at distances ``d_1..d_n`` from the source and the suspect at
``d``,

- ``score = (mean(d_i) - d) / sd(d_i)``: how many of the independents' standard deviations the suspect sits closer
  to the source than an average independent (larger = stronger evidence of derivation). The spread is floored
  (:func:`calibrate`'s ``floor_scale`` and ``min_spread``): for a method whose distance is a share of its samples,
  at least that share's sampling error (:func:`gifviz.audit.reading.sampling_error`, round nine). For values read
  against the anchors the centre is ``min(mean(d_i), 0)`` (``max_centre``; round ten's ``bounded`` null centre,
  :mod:`gifviz.audit.reading`), here and in ``p_tail``;
- ``p_value`` (empirical) ``= (1 + #{i: d_i <= d}) / (n + 1)``: how often an independent looks at least as derived,
  counting the suspect itself as the conformal p-value does; it cannot go below ``1/(n+1)``, so with ``n < 5`` it is
  flagged as coarse;
- ``p_tail`` (parametric): the probability that a new independent falls at or below ``d`` when the independents'
  distances are normal with unknown mean and spread: the Student-t prediction ``T_{n-1}((d - centre) / (sd * sqrt(1 +
  1/n)))``, the centre as in the score. Its ``n - 1`` degrees of freedom make it cautious with few independents (with
  2, a Cauchy tail);
- ``verdict`` at false-positive rate ``alpha``: ``derived`` when both agree that the suspect is beyond the
  independents (``p_tail <= alpha`` and ``p_value <= max(alpha, 1/(n+1))``, i.e. as small as ``alpha`` or as small
  as ``n`` independents allow); ``independent`` when neither does; ``inconclusive`` when they disagree (the suspect
  is closer than every independent but within their tail, or the tail model says "derived" while some independent
  is as close). ``n/a`` when the method gave no distance or fewer than 2 independents it can compare.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from gifviz.audit.names import COARSE_BELOW

MIN_INDEPENDENTS = 2  # one independent has no spread to set a distance against
# The independents' spread is floored at 0.1% of their mean distance: independents at one identical distance (a
# method that saturates, such as disagreement 1.0 on few samples) would otherwise give scores of 1e12; the empirical
# p-value then decides alone whether the suspect stands out.
SPREAD_FLOOR = 1e-3


@dataclasses.dataclass(frozen=True)
class Calibration:
    """A distance read against the independents' spread (see the module docstring for each field's rule).

    Attributes:
        distance: from the source to the model (the method's own units); NaN when the method cannot compare them.
        score: independents' standard deviations below the centre of their distances (their mean, or at most 0 for
            relative values; larger = more derived).
        p_value: empirical, ``(1 + #{independents at least as close}) / (n + 1)``.
        p_tail: Student-t predictive tail probability of the independents' distances.
        independents: ``n``, the independents it was calibrated against.
        verdict: ``derived``, ``independent``, ``inconclusive`` or ``n/a``.
        note: why it is ``n/a``, or that its p-value is coarse; else empty.
    """

    distance: float
    score: float
    p_value: float
    p_tail: float
    independents: int
    verdict: str
    note: str = ""

    @property
    def usable(self) -> bool:
        """Whether it carries evidence (a fusion leaves out those that do not)."""
        return self.verdict != "n/a"


def not_available(distance: float, reason: str, independents: int = 0) -> Calibration:
    return Calibration(distance, math.nan, math.nan, math.nan, independents, "n/a", reason)


def decide(p_value: float, p_tail: float, independents: int, alpha: float) -> str:
    """The verdict of an empirical and a parametric p-value from ``independents`` models at false-positive rate
    ``alpha``."""
    empirical_beyond = p_value <= max(alpha, 1.0 / (independents + 1)) + 1e-12
    tail_beyond = p_tail <= alpha
    if empirical_beyond and tail_beyond:
        return "derived"
    if not empirical_beyond and not tail_beyond:
        return "independent"
    return "inconclusive"


def calibrate(
    distance: float,
    independent_distances: Sequence[float],
    alpha: float,
    floor_scale: float | None = None,
    min_spread: float = 0.0,
    max_centre: float | None = None,
) -> Calibration:
    """``distance`` ``()`` from the source to a suspect against ``independent_distances`` ``(n,)`` from the source to
    the independents (NaN entries are the independents this method cannot compare; they are left out).

    ``floor_scale``: what the spread floor is proportional to (default: the independents' mean value; a relative
    distance, centred near 0, passes the raw distances' scale instead). ``min_spread``: an absolute floor as well, in
    the values' own units (the fused statistics of :mod:`gifviz.audit.fusion`, whose independents may all sit at 0).
    ``max_centre``: the most the score and the Student-t tail are centred at (default: the independents' mean; the
    ``bounded`` null centre of :mod:`gifviz.audit.reading` passes 0). The empirical p-value never depends on it."""
    others = np.asarray([d for d in independent_distances if np.isfinite(d)], dtype=np.float64)
    n = int(others.size)
    if not np.isfinite(distance):
        return not_available(float(distance), "no distance", n)
    if n < MIN_INDEPENDENTS:
        return not_available(
            float(distance), f"only {n} independent(s) it can compare; needs {MIN_INDEPENDENTS} to calibrate", n
        )
    mean = float(others.mean())
    scale = mean if floor_scale is None else floor_scale
    spread = max(float(others.std(ddof=1)), SPREAD_FLOOR * abs(scale), min_spread, 1e-12)
    centre = mean if max_centre is None else min(mean, max_centre)
    score = (centre - distance) / spread
    p_value = (1 + int(np.sum(others <= distance))) / (n + 1)
    p_tail = float(stats.t.cdf((distance - centre) / (spread * math.sqrt(1 + 1 / n)), df=n - 1))
    note = f"coarse: {n} independents, smallest possible p {1 / (n + 1):.2f}" if n < COARSE_BELOW else ""
    return Calibration(float(distance), score, p_value, p_tail, n, decide(p_value, p_tail, n, alpha), note)
