"""The relative distance: how much closer the source is to a model than the independents are to the same model.

A method's raw distance from the source mixes two things: whether the model descends from the source, and how far
the model's own kind (its architecture, its training budget) sits from every other model. A thief built on a small
MLP is far from a CNN source, and just as far from every CNN independent; read against the independents' distances
from the source, it looks independent. Read against its own distances to the independents, it does not: the source
is still its closest relative. The rule, for a model ``y`` at distance ``d(y, s)`` from the source and
``d(y, a_1..a_k)`` from the anchors (the independents other than ``y``):

    relative(y) = (d(y, s) - mean_i d(y, a_i)) / sd_i d(y, a_i)

negative when the source is closer to ``y`` than an average independent is, in ``y``'s own spread of distances (the
spread is floored as :mod:`gifviz.audit.calibration` floors it). The audit calibrates this statistic exactly as it
calibrated raw distances: a suspect's against the independents' own, each computed against the other independents.

Chosen on design stress zoos (seeds 5-8) among raw, relative and mixed rules, checked on four fresh zoos (seeds 9-12)
before it was run on the zoos that report it (seeds 1-4); the README has the figures and the commands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gifviz.audit.calibration import MIN_INDEPENDENTS, SPREAD_FLOOR

# Each independent's own relative distance is read against the others, which need a spread: 2 besides itself.
MIN_RELATIVE_INDEPENDENTS = MIN_INDEPENDENTS + 1
RELATIVE_NEEDS = (
    " (the relative calibration reads each independent against the other independents; --calibration absolute "
    f"needs {MIN_INDEPENDENTS})"
)


def relative_distance(to_source: float, to_anchors: Sequence[float]) -> float:
    """``to_source`` ``()`` against ``to_anchors`` ``(k,)`` from the same model (NaN entries, pairs the method cannot
    compare, are left out); NaN when the source distance is missing or fewer than 2 anchor distances remain."""
    anchors = np.asarray([d for d in to_anchors if math.isfinite(d)], dtype=np.float64)
    if not math.isfinite(to_source) or anchors.size < MIN_INDEPENDENTS:
        return math.nan
    mean = float(anchors.mean())
    spread = max(float(anchors.std(ddof=1)), SPREAD_FLOOR * abs(mean), 1e-12)
    return (to_source - mean) / spread
