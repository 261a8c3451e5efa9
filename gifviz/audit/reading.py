"""What a method's calibration reads for each model, under each rule of :data:`CALIBRATION_RULES`.

``absolute``: the raw distance from the source. ``relative``: how much closer the source is to a model than the
independents are to the same model. ``same-arch`` (default): the same against the independents of the source's own
architecture only. A method's raw distance from the source mixes two things: whether the model
descends from the source, and how far the model's own kind (its architecture, its training budget) sits from every
other model. A thief built on a small MLP is far from a CNN source, and just as far from every CNN independent; read
against the independents' distances from the source, it looks independent. Read against its own distances to the
independents, it does not: the source is still its closest relative. The rule, for a model ``y`` at distance
``d(y, s)`` from the source and ``d(y, a_1..a_k)`` from the anchors (the independents in use other than ``y``):

    relative(y) = d(y, s) - mean_i d(y, a_i)

negative when the source is closer to ``y`` than the independents are on average, in the method's own units. The
audit calibrates this value exactly as it calibrated raw distances: a suspect's against the independents' own, each
computed against the other independents, so the spread it is divided by is the independents' (as for raw
distances), never the model's own few distances to the anchors (a model whose distances to the independents happen
to lie close together would otherwise look derived from a small difference). Chosen on design stress zoos (seeds
5-12) among raw, relative and mixed rules, and reported on zoos built after the choice (seeds 13-16, and again
17-24); docs/audit-history.md has the figures, the commands and the order in which they were seen.

``same-arch`` takes the mean over the anchors with the source's architecture (the same parameter shapes,
:attr:`Evidence.same_architecture`). Two models of one architecture are closer by every method than two of different
ones, whatever their lineage. Against all anchors, an innocent model of the source's architecture is therefore
closer to the source than to the average independent, and looks derived to several methods at once (on stress seed
41, ``indep-digit-cnn_deep-2`` against the ``cnn_deep`` source: small positive scores from five methods, fused above
five of its label thieves). Against the independents of the source's architecture, it is compared with models as
alike as itself; a thief of another architecture is still compared with models of the source's kind, exactly as the
source is. Chosen on stress seeds 1-44 (all seen) and reported on fresh zoos (docs/audit-history.md, step 14). The audit
reads a suspect with other output classes than the source with ``relative`` (:func:`gifviz.audit.run_audit.assess`).

Which anchors is decided per calibration, never per model: while any independent of the source's architecture is in
use, every value is taken against those, and the one of them left alone (the others left out) has no value in that
calibration; with none in use, every value is taken against every independent in use. Decided per model, that last
one would be read against every independent among values read against its kind: two rules in one calibration (a
review found it after the rule's first report). For the same reason ``combined``'s null leaves that independent out:
fused from its own calibration, where none of its kind is left, it would be read by ``relative``
(:meth:`MethodReading.without_value`; chosen on stress seeds 1-52 as a consistency fix, declared to cost at most
0.005 of the criterion there, where it cost 0.004; reported on seeds 53-56, where it cost 0.012).

A method whose distance is a share of its samples (output and off-task disagreement: the share of ``N`` inputs on
which two models' top-1 answers differ) is read with a spread of at least that share's sampling error at the
independents' mean rate (:func:`sampling_error`; the ``sampling`` rate spread, default since round nine). Counted in
steps of ``1/N``, the independents' values can coincide to the count; their spread then fell to the floor of 0.1%
of the scale, and a model two references away scored in the hundreds (an innocent MLP on stress seed 75: 695).
Chosen on stress seeds 65-80, all seen, declared before it was scored (criterion 0.915 against 0.898), and
reported on seeds 81-88 (``benchmarks/results/rate-spread/DECLARED.md``).

Under either relative rule a calibration of values read against the anchors (every method but source flips, read raw)
is centred at the independents' mean value or at 0, whichever is on the derived side (the ``bounded`` null centre,
default since round ten; :attr:`MethodReading.max_centre`). A value of 0 is a model no closer to the source than to
the anchors. Where models are mostly farther from the source than from the anchors, the independents' values centre
above 0: ModelDiff crafts its input pairs on the source, so the source is its own probe (over stress seeds 65-88 the
independents' mean ModelDiff value is above 0 in 81% of readings). A model far from every other does not share that
bias, its value is near 0 whatever its lineage, and read against the mean it looked derived: an innocent MLP's median
ModelDiff score there was 1.33, the same as an MLP thief's. An innocent model's value lies between the independents'
mean and 0, so the evidence is taken from beyond both. Declared before it was scored, chosen on seeds 65-88, all seen
(criterion 0.914 against 0.897; the MLP independents called derived in 1 of 48 readings against 6), and reported on
seeds 89-96 (``benchmarks/results/null-centre/DECLARED.md``), where with ``capped-sum`` it lost (0.891 against 0.911):
read from 0, a typical independent scores below 0, a sum of positive scores drops that, and its fused null shrinks;
round eleven's ``stouffer`` keeps it.

The independents in use change from row to row (a suspect that is also an independent is left out of everyone's
anchors; the fused calibration leaves out one more in turn). Recomputing the mean over each subset would cost
``O(n)`` per value and ``O(n^3)`` per suspect with ``n`` independents; instead each model's sum and count over all
independents (and over those of the source's architecture) are kept once and the few left-out distances subtracted,
``O(1)`` per value. Source flips and source crops are the exception: each value re-weighs the probes by the
independents in use, ``O(n F)`` for ``F`` probes (about 20 us for 1,000 flips and a dozen independents).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from gifviz.audit.evidence import Evidence
from gifviz.audit.flips import weighted_distance
from gifviz.audit.names import ABSOLUTE, SAME_ARCH, SELF_CALIBRATED_METHODS, WEIGHT_METHODS
from gifviz.audit.roles import AuditError
from gifviz.audit.settings import DEFAULT_READING, ReadingSettings
from gifviz.methods.registry import METHODS


def sampling_error(rate: float, samples: int) -> float:
    """The standard error of a proportion ``rate`` measured on ``samples`` inputs, ``sqrt(p (1 - p) / N)``, with
    ``p = (N rate + 1/2) / (N + 1)``: the half count keeps it above 0 when the rate is 0 or 1 (every independent
    agreeing with the source on every input), where a plain ``p`` would claim a rate known exactly. 0 for no
    samples."""
    if samples <= 0:
        return 0.0
    p = (samples * rate + 0.5) / (samples + 1)
    return math.sqrt(p * (1.0 - p) / samples)


class MethodReading:
    """One method's values for the calibration, for every model of an audit, under one rule: ``settings``'
    calibration rule, rate spread and null centre (the fusion and the one-method reading are ``combined``'s).

    Attributes:
        reads_anchors: whether values are taken against the anchors (``same-arch`` and ``relative``, but for a
            method whose evidence is already taken against the independents).
        floor_scale: the scale the calibration's spread floor is taken from: the independents' mean raw distance
            from the source when values are taken against the anchors (they sit around 0, where a floor
            proportional to their own mean would vanish and a saturated method would give unbounded scores);
            ``None`` for ``absolute`` (the values' own mean, as before).
        min_spread: the smallest spread the calibration reads the values with, in the method's own units: under the
            ``sampling`` rate spread, for a method whose distance is a share of its samples, the sampling error of
            the independents' mean raw rate from the source (:func:`sampling_error`); else 0.
        max_centre: the most the calibration is centred at: 0 under the ``bounded`` null centre when values are taken
            against the anchors (a relative value of 0 is a model no closer to the source than to its kin); ``None``
            (the independents' mean) otherwise.
    """

    def __init__(
        self,
        evidence: Evidence,
        method: str,
        independents: Sequence[str],
        settings: ReadingSettings = DEFAULT_READING,
    ) -> None:
        calibration = settings.calibration
        # a method whose evidence is already taken against the independents is read raw under either rule
        # and a method that reads weights is read raw too (gifviz.audit.names.WEIGHT_METHODS says why)
        self.reads_anchors = calibration != ABSOLUTE and method not in (*SELF_CALIBRATED_METHODS, *WEIGHT_METHODS)
        self.distances = evidence.distances[method]
        self.independents = frozenset(independents)
        # the independents this method can compare (a distance from the source), with that distance
        raw = {i: self.distances[i] for i in independents if math.isfinite(self.distances.get(i, math.nan))}
        # same-arch: those of the source's architecture (one the method gives no distance for is never in use, so the
        # rule is still decided per calibration); None: every anchor
        self._kin = evidence.same_architecture.intersection(raw) if calibration == SAME_ARCH else None
        self._comparable = frozenset(raw)
        # source flips: each value re-weighed without the independents a calibration leaves out (and the model)
        self._follows = evidence.follows.get(method)
        mean_raw = sum(raw.values()) / len(raw) if raw else None
        self.floor_scale = mean_raw if self.reads_anchors else None
        self.max_centre = 0.0 if settings.null_centre == "bounded" and self.reads_anchors else None
        # one mean rate for every calibration of the audit: the floor is the measurement's resolution, which does not
        # change with the independents a calibration leaves out
        is_rate = method in METHODS and METHODS[method].share_of_samples
        self.min_spread = (
            sampling_error(mean_raw, evidence.samples.get(method, 0))
            if settings.rate_spread == "sampling" and is_rate and mean_raw is not None
            else 0.0
        )
        self._anchors: dict[str, dict[str, float]] = {}
        self._totals: dict[str, tuple[float, int]] = {}
        self._kin_totals: dict[str, tuple[float, int]] = {}
        if not self.reads_anchors:
            return
        if method not in evidence.to_anchors:
            raise AuditError(
                f"{method}'s evidence holds no distances to the independents, which the relative rules read; "
                "compute it with anchors=<the independents>, or use the absolute calibration"
            )
        for model, to_anchors in evidence.to_anchors[method].items():
            kept = {a: d for a, d in to_anchors.items() if a in self.independents and a != model and math.isfinite(d)}
            self._anchors[model] = kept
            self._totals[model] = (math.fsum(kept.values()), len(kept))
            if self._kin:
                kin = [d for a, d in kept.items() if a in self._kin]
                self._kin_totals[model] = (math.fsum(kin), len(kin))

    def left_out(self, independents: Collection[str]) -> frozenset[str]:
        """The audit's independents that are not among ``independents``."""
        return self.independents.difference(independents)

    def kin_in_use(self, independents: Sequence[str]) -> frozenset[str] | None:
        """Under ``same-arch``, for a method whose values are taken against the anchors, the independents of the
        source's architecture this method can compare that a calibration against ``independents`` reads values
        against (empty: none, and every independent in use is read instead); ``None`` under every other rule, for a
        method read raw, and for a method that compares no independent (it calibrates nothing). Counted from the
        distances from the source: a model with no distance to one of them is read against the rest, which this
        does not see (:func:`gifviz.audit.kin.thin_kin_note` reads it)."""
        if not self.reads_anchors or self._kin is None or not self._comparable:
            return None
        return self._kin - self.left_out(independents)

    def without_value(self, independents: Sequence[str]) -> frozenset[str]:
        """Under ``same-arch``, the one independent of the source's architecture in use in a calibration against
        ``independents``, when it is alone: it has no value there, and in a calibration of its own (itself left out)
        none of its kind would be left, so it would be read by ``relative``. The fused calibration leaves it out of
        its null (:func:`gifviz.audit.fusion.combined_evidence`). Empty under every other rule."""
        if not self.reads_anchors or not self._kin:
            return frozenset()
        # the one independent of the source's architecture in use is every other value's anchor and has none itself
        # (under any other rule, or for another independent, a missing value leaves the rule as it is)
        alone = self._kin - self.left_out(independents)
        return alone if len(alone) == 1 else frozenset()

    def value(self, model: str, left_out: frozenset[str] = frozenset()) -> float:
        """``model``'s value (smaller = more derived) against the independents but ``left_out`` and itself (under
        ``same-arch``, those of the source's architecture, as long as any of them is in use); NaN when the method
        gives no distance, or compares the model with none of those independents (under ``same-arch``, the one
        independent of the source's architecture left in use has none). Source flips
        are read raw, weighed by this reading's independents but ``left_out`` and the model (with the audit's own
        independents and none left out, that is the stored distance)."""
        distance = self.distances[model]
        if self._follows is not None and math.isfinite(distance):
            return weighted_distance(self._follows, model, self.independents.difference(left_out))[0]
        if not self.reads_anchors or not math.isfinite(distance):
            return distance
        anchors = self._anchors.get(model, {})
        # same-arch decides its anchors per calibration (the independents in use), never per model: with any of the
        # source's architecture in use, every value is read against them, and one of them with no other left gives
        # no value (a model read against every independent among models read against its kind would be read by
        # another rule)
        if self._kin and self._kin - left_out:
            total, count = self._remaining(self._kin_totals.get(model, (0.0, 0)), anchors, left_out & self._kin)
            return distance - total / count if count else math.nan
        total, count = self._remaining(self._totals.get(model, (0.0, 0)), anchors, left_out)
        return distance - total / count if count else math.nan

    @staticmethod
    def _remaining(
        totals: tuple[float, int], anchors: dict[str, float], left_out: Collection[str]
    ) -> tuple[float, int]:
        """The sum and count of a model's anchor distances, less the anchors ``left_out``, subtracted in sorted order:
        a set's iteration order follows the process's string hashing, and with two or more left out another order
        rounds the last bit differently, so the same audit would differ from run to run."""
        total, count = totals
        for other in sorted(left_out):
            if other in anchors:
                total -= anchors[other]
                count -= 1
        return total, count
