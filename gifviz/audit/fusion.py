"""``combined``: one suspect's calibrated evidence from several methods, fused and calibrated once more.

Each candidate fusion is a plain function from the per-method :class:`~gifviz.audit.calibration.Calibration` of a
model (the methods that can compare it) to one statistic, larger = more derived:

- ``stouffer`` (the default from round eleven to round seventeen): ``sum_m z_m / sqrt(k)`` with
  ``z_m = Phi^-1(1 - p_tail_m)`` (Stouffer's z);
- ``fisher``: ``-2 sum_m ln p_tail_m``, read against chi-square with ``2k`` degrees of freedom and returned as a z;
- ``best``: the largest per-method ``score`` (the best calibrated score);
- ``rank``: minus the mean empirical p-value (a rank average: where the model sits among the independents);
- ``positive-sum``: the sum of the positive per-method scores (each method's evidence that the model lies beyond the
  centre of the independents' values, and nothing from a method that sees no such thing);
- ``capped-sum`` (the default from step 14 to round ten): the same with each score capped at :data:`SCORE_CAP`;
- ``by-attack`` (the default since round twenty-three, with source crops among the methods until round twenty-six;
  round thirteen's candidate): the largest of Stouffer's z over every method and over the methods aimed at each kind
  of thief (:data:`gifviz.audit.names.ATTACK_EVIDENCE`);
- ``purpose-weighted`` (round fourteen's first candidate): Stouffer's weighted z, each method weighed 1 plus the
  number of kinds of thief it is aimed at;
- ``per-kind`` (round fourteen's second candidate): Stouffer's z of each kind of evidence's own Stouffer's z (each
  group of ``ATTACK_EVIDENCE``, and the methods aimed at none);
- ``fitted-weights`` (the default from round eighteen to round twenty-two; round fifteen's candidate): Stouffer's
  weighted z with the weights of :data:`gifviz.audit.names.FITTED_WEIGHTS`, fitted on seen stress zoos by
  ``benchmarks/fit_fusion_weights.py``;
- ``by-attack-modeldiff`` (round forty-six's candidate): ``by-attack`` with one more hypothesis per group of
  ``ATTACK_EVIDENCE``, that group with :data:`gifviz.audit.names.ATTACK_COMPANIONS` (ModelDiff) beside it;
- ``by-attack-off-task-half`` (round forty-eight's candidate): ``by-attack`` whose label-only hypothesis is Stouffer's
  weighted z with off-task at half weight (:data:`gifviz.audit.names.ATTACK_GROUP_WEIGHTS`).

Methods share inputs and outputs, so their p-values are not independent and Stouffer's or Fisher's own null
distribution would be too confident. The fused statistic is therefore calibrated again, like a distance, against the
independents themselves: each independent ``j`` is fused the same way from its calibration against the *other*
independents (leave-one-out), and the suspect's fused statistic is read against those ``n`` values with the rule of
:mod:`gifviz.audit.calibration` (empirical p, Student-t tail, verdict). This needs at least 3 independents. The
row's score is the fused statistic itself since round twenty-six (``score="fused"``), or its distance above those
values in their standard deviations (``"calibrated"``, before): :data:`gifviz.audit.names.COMBINED_SCORES`. Under
``same-arch``, the one independent of the source's architecture in use, when it is alone, is no member of the null
(:meth:`gifviz.audit.reading.MethodReading.without_value`): it has no value in the suspect's calibration, and its own
would read it by the relative rule. It stays an anchor of the others.

When only one method can compare a suspect (the cross-task rule's ModelGiF for a transfer model, or an audit run with
one method), there is nothing to fuse, and by default (``one_method="own"``, round eight) ``combined`` is that method's
own calibration: no fused statistic (its ``distance`` is NaN) and no second calibration, which with one method adds
no evidence, and which clipped and rescaled each source's audit on its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
from scipy import stats

from gifviz.audit.calibration import MIN_INDEPENDENTS, Calibration, calibrate, not_available
from gifviz.audit.names import (
    ATTACK_COMPANIONS,
    ATTACK_EVIDENCE,
    ATTACK_GROUP_WEIGHTS,
    COMBINED_SCORES,
    DEFAULT_COMBINED_SCORE,
    DEFAULT_FUSION,
    DEFAULT_ONE_METHOD,
    FITTED_WEIGHTS,
    FUSION_NAMES,
    ONE_METHOD_READINGS,
)
from gifviz.audit.roles import check_choice

# A fusion reads the calibrations of the methods that can compare a model, by method name (``by-attack`` groups them).
Fusion = Callable[[Mapping[str, Calibration]], float]

# p-values are clipped before a logarithm or an inverse normal: a tail probability of 0 would make one method's
# evidence infinite and silence every other, and one of 1 (a model far on the independents' side, where the t tail
# rounds to 1) would give Stouffer's z minus infinity and leave the model without a fused statistic.
P_FLOOR = 1e-15


def _clipped(p: float) -> float:
    return min(max(p, P_FLOOR), 1.0 - P_FLOOR)


def _z(calibration: Calibration) -> float:
    """A method's tail p-value as a standard normal deviate (large = derived)."""
    return float(stats.norm.isf(_clipped(calibration.p_tail)))


def stouffer(calibrations: Mapping[str, Calibration]) -> float:
    """Stouffer's z of the per-method tail p-values."""
    z = [_z(c) for c in calibrations.values()]
    return sum(z) / math.sqrt(len(z))


def fisher(calibrations: Mapping[str, Calibration]) -> float:
    """Fisher's combination of the per-method tail p-values, as the z of its chi-square p-value (comparable across
    models whose number of usable methods differs)."""
    statistic = -2.0 * sum(math.log(_clipped(c.p_tail)) for c in calibrations.values())
    return float(stats.norm.isf(_clipped(float(stats.chi2.sf(statistic, 2 * len(calibrations))))))


def best(calibrations: Mapping[str, Calibration]) -> float:
    """The largest calibrated score: the one method that sees the model most clearly decides."""
    return max(c.score for c in calibrations.values())


def rank(calibrations: Mapping[str, Calibration]) -> float:
    """Minus the mean empirical p-value: the model's average rank among the independents."""
    return -float(np.mean([c.p_value for c in calibrations.values()]))


def positive_sum(calibrations: Mapping[str, Calibration]) -> float:
    """The sum of the positive calibrated scores. Each kind of thief is seen by few methods (dark knowledge:
    probability thieves; off-task answers: label-only thieves of natural images), so a method that sees nothing must
    not cancel one that does (as in ``stouffer``); and one method that puts an innocent model far out (ModelDiff read
    relatively, on some innocent models of another task) must not decide alone (as in ``best``): a derived model is
    usually seen by more than one method, so their evidence adds up."""
    return float(sum(max(c.score, 0.0) for c in calibrations.values()))


# The most one method's score adds to ``capped-sum``: the z of the p floor above, the largest z that ``stouffer``
# takes from one method and that ``fisher`` returns. A method whose independents nearly coincide (disagreement is
# counted in steps of 1/N, and under the same-arch rule its values for several independents can be equal) has a
# spread at its floor, and a score of hundreds for a model one step away: uncapped, that one step decides the fused
# statistic alone. A derived model that several methods see clearly still sums several capped scores (a fine-tuned
# model: five methods at 5-50 each).
SCORE_CAP = float(stats.norm.isf(P_FLOOR))


def capped_sum(calibrations: Mapping[str, Calibration]) -> float:
    """:func:`positive_sum` with each score capped at :data:`SCORE_CAP` (about 7.94)."""
    return float(sum(min(max(c.score, 0.0), SCORE_CAP) for c in calibrations.values()))


def by_attack(calibrations: Mapping[str, Calibration]) -> float:
    """The largest of Stouffer's z over every method (any derivation) and over the methods aimed at each kind of
    thief (:data:`gifviz.audit.names.ATTACK_EVIDENCE`), each over those that can compare the model. ``stouffer``
    divides one method's evidence by the square root of the number fused: a probability thief that only dark knowledge
    sees, at z near 2-3 among seven methods near 0, fuses to about 1, within the innocent models' spread (round
    thirteen, benchmarks/results/round-thirteen/DECLARED.md)."""
    return max(stouffer(group) for _, group in _hypotheses(calibrations))


# by-attack's hypothesis over every method (any derivation), named beside the groups of ATTACK_EVIDENCE
EVERY_METHOD = "every method together"


def attack_hypotheses(methods: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``by-attack``'s hypotheses over ``methods`` by name: every method together (:data:`EVERY_METHOD`), then each
    group of :data:`gifviz.audit.names.ATTACK_EVIDENCE` restricted to ``methods``, in its order (empty where none of
    its methods is among them). The one statement of them: the audit reads it over the methods that can compare a
    model, and the benchmarks that re-fuse stored readings (``benchmarks/fit_fusion_weights.py``) over columns."""
    return [(EVERY_METHOD, list(methods)), *((n, [m for m in g if m in methods]) for n, g in ATTACK_EVIDENCE.items())]


def companion_hypotheses(methods: Sequence[str]) -> list[list[str]]:
    """The hypotheses ``by-attack-modeldiff`` adds over ``methods``: each group of
    :data:`gifviz.audit.names.ATTACK_EVIDENCE` that holds one of them, with the methods of
    :data:`gifviz.audit.names.ATTACK_COMPANIONS` among them beside it (none without a companion)."""
    companions = [m for m in ATTACK_COMPANIONS if m in methods]
    aimed = [group for _, group in attack_hypotheses(methods)[1:] if group]
    return [group + [m for m in companions if m not in group] for group in aimed] if companions else []


def _hypotheses(calibrations: Mapping[str, Calibration]) -> list[tuple[str, dict[str, Calibration]]]:
    """``by-attack``'s hypotheses that hold a method (:func:`attack_hypotheses`), with their calibrations."""
    named = attack_hypotheses(list(calibrations))
    return [(name, {m: calibrations[m] for m in group}) for name, group in named if group]


def by_attack_hypothesis(calibrations: Mapping[str, Calibration]) -> tuple[str, tuple[str, ...]]:
    """Which of ``by-attack``'s hypotheses gives its statistic (:func:`by_attack`): :data:`EVERY_METHOD` or the name
    of a group of :data:`gifviz.audit.names.ATTACK_EVIDENCE`, with the methods it fused. A tie goes to every method,
    the hypothesis that claims the least about the kind of derivation, and a group that holds every method fused is
    every method (summed in another order, its z can differ from every method's in the last digit)."""
    hypotheses = [(n, g) for n, g in _hypotheses(calibrations) if n == EVERY_METHOD or set(g) != set(calibrations)]
    name, group = max(hypotheses, key=lambda h: stouffer(h[1]))  # max keeps the first of a tie
    return name, tuple(group)


def _aimed_groups(calibrations: Mapping[str, Calibration]) -> list[dict[str, Calibration]]:
    """The calibrations of each group of :data:`gifviz.audit.names.ATTACK_EVIDENCE`, in its order (a group none of
    whose methods can compare the model is empty)."""
    return [{m: calibrations[m] for m in group} for _, group in attack_hypotheses(list(calibrations))[1:]]


def _aims(method: str) -> int:
    """How many kinds of thief of :data:`gifviz.audit.names.ATTACK_EVIDENCE` ``method`` is aimed at."""
    return sum(method in methods for methods in ATTACK_EVIDENCE.values())


def weighted_stouffer(calibrations: Mapping[str, Calibration], weights: Mapping[str, float]) -> float:
    """Stouffer's weighted z, ``sum_m w_m z_m / sqrt(sum_m w_m^2)`` over the usable methods (a method without a
    weight counts 1): a unit variance for independent z whatever the weights."""
    w = {m: weights.get(m, 1.0) for m in calibrations}
    return sum(w[m] * _z(c) for m, c in calibrations.items()) / math.sqrt(sum(x * x for x in w.values()))


def purpose_weighted(calibrations: Mapping[str, Calibration]) -> float:
    """Stouffer's weighted z, ``sum_m w_m z_m / sqrt(sum_m w_m^2)``, with ``w_m`` 1 plus the number of kinds of thief
    the method is aimed at. Its numerator sums the z of every member of ``by-attack``'s hypotheses together (every
    method, then each aimed group), where ``by-attack`` takes the largest hypothesis, which lifted every innocent
    model's statistic; the denominator keeps a unit variance for independent z (round fourteen,
    benchmarks/results/round-fourteen/DECLARED.md). Without an aimed method it is ``stouffer``."""
    return weighted_stouffer(calibrations, {m: 1.0 + _aims(m) for m in calibrations})


def per_kind(calibrations: Mapping[str, Calibration]) -> float:
    """Stouffer's z of the kinds of evidence: each group of :data:`gifviz.audit.names.ATTACK_EVIDENCE`, and the
    methods aimed at none, fused by :func:`stouffer` over its usable methods; then the groups' z summed and divided by
    the square root of their number, so each kind has one vote whatever its number of methods (round fourteen).
    Without an aimed method it is ``stouffer``."""
    groups = [*_aimed_groups(calibrations), {m: c for m, c in calibrations.items() if not _aims(m)}]
    z = [stouffer(group) for group in groups if group]
    return sum(z) / math.sqrt(len(z))


def fitted_weights(calibrations: Mapping[str, Calibration]) -> float:
    """:func:`weighted_stouffer` with :data:`gifviz.audit.names.FITTED_WEIGHTS`. Round fifteen's candidate
    (benchmarks/results/round-fifteen/DECLARED.md): eight methods fused with equal weights let the ones that see
    nothing of a kind of thief dilute the one that does; which method deserves more weight is a question the seen
    zoos can answer, and a cross-fit on two halves of them says whether the answer holds on zoos it was not fitted
    on."""
    return weighted_stouffer(calibrations, FITTED_WEIGHTS)


def by_attack_modeldiff(calibrations: Mapping[str, Calibration]) -> float:
    """:func:`by_attack` with one more hypothesis per group of :data:`gifviz.audit.names.ATTACK_EVIDENCE` that can
    compare the model: the group with the methods of :data:`gifviz.audit.names.ATTACK_COMPANIONS` that can compare it
    beside it. A thief whose aimed evidence is weak (an MLP that copied the source poorly) can still be seen by
    ModelDiff (how its outputs move between each reference and a partner crafted on the source), whatever the
    thief's architecture; read among every method, that second signal is diluted by the methods that see nothing
    (round forty-six, benchmarks/results/round-forty-six/DECLARED.md). Without a companion it is :func:`by_attack`;
    with no aimed method, ``stouffer``."""
    hypotheses = [group for _, group in _hypotheses(calibrations)]
    with_companions = [{m: calibrations[m] for m in group} for group in companion_hypotheses(list(calibrations))]
    return max(stouffer(group) for group in hypotheses + with_companions)


def by_attack_off_task_half(calibrations: Mapping[str, Calibration]) -> float:
    """:func:`by_attack` with each group of :data:`gifviz.audit.names.ATTACK_EVIDENCE` fused by Stouffer's weighted z
    under its weights in :data:`gifviz.audit.names.ATTACK_GROUP_WEIGHTS` (the label-only group: off-task at half
    weight; a method not named there, ``off-task-kappa`` included, weighs 1); every method together and the other
    groups as in ``by-attack``. An innocent model of the source's task can agree with the source off-task (images of
    no class) as much as a label-only thief does, but it usually does not answer the source's own flips as the source
    does (source flips' median tail z -0.28 on the seen report zoos); a label-only thief does both, an MLP one mostly
    the second. Round forty-eight's candidate (benchmarks/results/round-forty-eight/DECLARED.md): it tied the shipped
    fusion on its sixteen report zoos and lost in seed 427, whose innocent source flips reads, so it is not the
    default."""
    # with no weights, weighted_stouffer is stouffer to the last bit (each z times 1.0, over sqrt of the count)
    hypotheses = _hypotheses(calibrations)
    return max(weighted_stouffer(group, ATTACK_GROUP_WEIGHTS.get(name, {})) for name, group in hypotheses)


FUSIONS: dict[str, Fusion] = {
    "stouffer": stouffer,
    "fisher": fisher,
    "best": best,
    "rank": rank,
    "positive-sum": positive_sum,
    "capped-sum": capped_sum,
    "by-attack": by_attack,
    "purpose-weighted": purpose_weighted,
    "per-kind": per_kind,
    "fitted-weights": fitted_weights,
    "by-attack-modeldiff": by_attack_modeldiff,
    "by-attack-off-task-half": by_attack_off_task_half,
}
# The smallest spread the second calibration reads a fusion's independents with, in the fusion's own units. Without
# it, independents whose fused values coincide give a vanishing spread and a suspect a hair above them an unbounded
# score: ``positive-sum`` puts every model that no method sees beyond the mean at exactly 0, so with 3 independents
# and one method this happens one time in eight. Half a standard deviation of one method (z or score units); a
# fiftieth for ``rank``, a mean of empirical p-values.
FUSED_SPREAD_FLOORS: dict[str, float] = {
    "stouffer": 0.5,
    "fisher": 0.5,
    "best": 0.5,
    "rank": 0.02,
    "positive-sum": 0.5,
    "capped-sum": 0.5,
    "by-attack": 0.5,
    "purpose-weighted": 0.5,
    "per-kind": 0.5,
    "fitted-weights": 0.5,
    "by-attack-modeldiff": 0.5,
    "by-attack-off-task-half": 0.5,
}
assert tuple(FUSIONS) == FUSION_NAMES == tuple(FUSED_SPREAD_FLOORS)  # the parser's torch-free copy (gifviz.audit.names)
# a group weight names a group of ATTACK_EVIDENCE and methods of it, each weighed above 0: a typo would silently turn
# by-attack-off-task-half into by-attack, and a weight of 0 on a method alone in its group would divide by 0
assert all(
    group in ATTACK_EVIDENCE and set(w) <= set(ATTACK_EVIDENCE[group]) and min(w.values()) > 0
    for group, w in ATTACK_GROUP_WEIGHTS.items()
)

# How the default fusion was picked and where it was reported (and, for the fusions before it, the calibration rule
# chosen with them); it is written into every audit.json.
DEFAULT_FUSION_NOTE = (
    "by-attack, with source-crops among the methods, since round twenty-three: declared before it was scored, the "
    "highest criterion of twenty candidates (the ten fusions, each with and without source-crops) on the 32 seen "
    "stress zoos of seeds 161-192 (550/600 against 547/600 for fitted-weights without source-crops, exactly the "
    "declared +0.005; tied with per-kind without source-crops, which lost on one half of those zoos where the rule "
    "asks no loss on either; innocent readings derived 25 of 1,088 against 32; "
    "benchmarks/results/round-twenty-three/DECLARED.md), then reported once on seeds 193-200, built before it was "
    "chosen and never scored before, where it lost to the audit before it (0.923 against 0.931: label-only thieves "
    "of natural images 0.94 against 0.91 worst case, of digits 0.42 against 0.48, probability thieves 0.92 against "
    "0.93; benchmarks/results/audit-seeds-193-200). Kept in round twenty-four, where it tied per-kind without "
    "source-crops at the top of the same twenty candidates on the 40 seen zoos of seeds 161-200 (550/600 both; a tie "
    "changes nothing; benchmarks/results/round-twenty-four/DECLARED.md), then reported once more on seeds 201-208, "
    "never scored before, where it lost to the audit before it again (0.930 against 0.935: label-only thieves 0.73 "
    "against 0.75 worst case, of natural images 0.87 against 0.85, of digits 0.55 against 0.57, probability thieves "
    "0.92 under both; benchmarks/results/audit-seeds-201-208). Kept in round twenty-five, whose candidate (each "
    "hypothesis read against the independents' spread of it before the largest is taken) lost on the 48 seen zoos "
    "of seeds 161-208 (-0.012; benchmarks/results/round-twenty-five/DECLARED.md), and reported on seeds 209-216, "
    "never scored before, where it lost to the audit before it a third time (0.925 against 0.930; "
    "benchmarks/results/audit-seeds-209-216, benchmarks/results/round-twenty-five/previous-audit). Kept in round "
    "twenty-six, which scored combined by its fused statistic instead of that statistic read against the null "
    "(the verdict still is) and left source-crops out of the default methods: the best of 24 variants tried on the "
    "56 seen zoos of seeds 161-216, not declared before they were scored there (criterion 0.902 against 0.896; "
    "benchmarks/results/round-twenty-six/DECLARED.md), and reported on seeds 217-224, never scored before: 0.934 "
    "against 0.932 for the audit before it, probability thieves 0.96 worst case against 0.94, innocent readings "
    "derived 6 of 272 against 2 (benchmarks/results/audit-seeds-217-224, "
    "benchmarks/results/round-twenty-six/previous-audit). Kept in round twenty-seven, whose candidate, "
    "fitted-weights scored by its fused statistic, lost on the 64 seen zoos of seeds 161-224 (0.897 against 0.902, "
    "below on both halves; benchmarks/results/round-twenty-seven/DECLARED.md), and reported on seeds 225-232, "
    "never scored before: 0.934 (benchmarks/results/audit-seeds-225-232). Before it, "
    "fitted-weights from round eighteen to round twenty-two: Stouffer's z with round fifteen's weights per method, "
    "fitted on the seen "
    "stress zoos of seeds 65-128 and unchanged since, chosen on the 24 seen zoos of seeds 129-152, on none of which "
    "they were fitted (declared before they were scored again; criterion 0.911 against 0.903 for stouffer, innocent "
    "readings derived 17 of 816 against 15; benchmarks/results/round-eighteen/DECLARED.md), then reported once on "
    "seeds 153-160, never scored before (0.956 against 0.936; benchmarks/results/audit-seeds-153-160), and, with "
    "nothing changed, on seeds 161-168 (0.936 against 0.920; benchmarks/results/audit-seeds-161-168), 169-176 "
    "(0.923 against 0.914; benchmarks/results/audit-seeds-169-176), 177-184 (0.915 against 0.911; "
    "benchmarks/results/audit-seeds-177-184) and 185-192 (0.928 against 0.934, the first report set where stouffer "
    "led; benchmarks/results/audit-seeds-185-192). Kept in round twenty, whose weights fitted again "
    "on the 40 seen zoos of seeds 129-168 lost to these on each half they were not fitted on (cross-fitted gain "
    "-0.018; benchmarks/results/round-twenty/DECLARED.md), and in round twenty-one, where it tied per-kind at the top "
    "of the ten fusions on the 48 seen zoos of seeds 129-176 (criterion 0.908; "
    "benchmarks/results/round-twenty-one/DECLARED.md), and in round twenty-two, whose tenth method (source-crops) "
    "tied on the 24 seen zoos of seeds 161-184 and changed nothing (benchmarks/results/round-twenty-two/DECLARED.md). "
    "Before it, "
    "stouffer since round eleven, chosen on the 32 seen stress zoos of seeds 65-96 (declared before it was scored, "
    "with round ten's centre of relative values; criterion 0.909 against 0.889 for capped-sum, innocent readings "
    "derived 24 of 576 under both; benchmarks/results/round-eleven/DECLARED.md; its margin comes from seeds 89-96, "
    "where its lead had been seen before the declaration) and reported once on seeds 97-104, never scored before "
    "(benchmarks/results/audit-seeds-97-104; 97-100 first, alone, in benchmarks/results/audit-seeds-97-100); "
    "kept in round thirteen against by-attack on the 48 seen zoos of seeds 65-112 (0.902 against 0.892; "
    "benchmarks/results/round-thirteen/DECLARED.md), and in round fourteen against purpose-weighted and per-kind on "
    "the 56 seen zoos of seeds 65-120 (0.902 against 0.892 and 0.894; benchmarks/results/round-fourteen/DECLARED.md), "
    "and in round fifteen against fitted-weights, whose weights fitted on one half of the 64 seen zoos of seeds 65-128 "
    "lost 0.034 of the criterion on the other half (cross-fitted gain -0.016; "
    "benchmarks/results/round-fifteen/DECLARED.md). "
    "Before it, "
    "capped-sum with the same-arch calibration rule, chosen on stress seeds 1-44 (all seen; declared candidates, "
    "criterion: the mean over attack categories of the worst-case AUC across zoos): 0.903 in its first form (the "
    "fallback to every independent decided per model) and 0.901 as corrected, against 0.882 for the positive-sum "
    "and relative rule shipped before, with innocent models called derived at most at the stated rate (corrected: 32 "
    "of 792 readings of the source's task, 19 of 704 of the transfer task; benchmarks/results/audit-seeds-1-44); "
    "reported once on seeds 49-52, never "
    "scored before ('python benchmarks/audit_selection.py ZOO.toml ... --n-refs 128', "
    "benchmarks/results/audit-seeds-49-52); its first form on seeds 45-48 (benchmarks/results/audit-seeds-45-48). "
    "The fused null without the independent same-arch cannot read: chosen on seeds 1-52 as a consistency fix (0.897 "
    "against 0.901, within the declared 0.005; benchmarks/results/audit-seeds-1-52), reported once on seeds 53-56 "
    "(0.894; benchmarks/results/audit-seeds-53-56) and, unchanged, on seeds 53-60, 57-60 never scored before "
    "(benchmarks/results/audit-seeds-53-60), and on seeds 61-64, never scored before (0.922; "
    "benchmarks/results/audit-seeds-61-64). CKA of the penultimate features fused for suspects of the source's "
    "classes: chosen on seeds 1-64 (declared before scoring; 0.881 against 0.869, innocent readings derived 50 of "
    "1152 and 24 of 1024; benchmarks/results/audit-seeds-1-64), reported once on seeds 65-68, never scored before "
    "(0.938, against 0.939 for the audit before it on the same zoos; benchmarks/results/audit-seeds-65-68) and, "
    "unchanged, on seeds 65-72, 69-72 never scored before (0.949 against 0.942 on 69-72; benchmarks/results/audit). "
    "Before: positive-sum was picked on the sixteen stress zoos seen while the audit was designed (seeds 1-16, "
    "benchmarks/results/audit-choice), reported on seeds 17-24, 25-28, 29-32, 33-36, 37-40 and 41-44 "
    "(benchmarks/results/audit-seeds-17-24, benchmarks/results/audit-seeds-25-28, "
    "benchmarks/results/audit-seeds-29-32, benchmarks/results/audit-seeds-33-36, "
    "benchmarks/results/audit-seeds-37-40, benchmarks/results/audit-seeds-41-44), and chosen again on seeds 1-40 "
    "(benchmarks/results/audit-seeds-1-40)"
)


def fusion_provenance(name: str) -> dict[str, object]:
    """What audit.json records of the fusion ``name``: its name, and for a fusion that reads tunable weights
    (``fitted-weights``' per method, ``by-attack-off-task-half``'s per group of ``ATTACK_EVIDENCE``) the weights it
    read (a later round changes them, and an audit must say which it was read with)."""
    if name == "fitted-weights":
        return {"name": name, "weights": dict(FITTED_WEIGHTS)}
    if name == "by-attack-off-task-half":
        return {"name": name, "weights": {group: dict(w) for group, w in ATTACK_GROUP_WEIGHTS.items()}}
    return {"name": name, "weights": None}


def fusion_named(name: str) -> Fusion:
    """The candidate fusion ``name``; one line naming the choices when there is none."""
    check_choice("fusion", name, tuple(FUSIONS))
    return FUSIONS[name]


def fused_methods(per_method: Mapping[str, Calibration], one_method: str = DEFAULT_ONE_METHOD) -> list[str]:
    """The methods ``combined`` fuses into a statistic for a model: its usable ones; none when it has none, or when
    one alone is read as its own (``one_method="own"``, round eight). :func:`combined_evidence` and
    :meth:`gifviz.audit.run_audit.AuditResult.fused_null` both read the rule here."""
    used = [m for m, c in per_method.items() if c.usable]
    return [] if one_method == "own" and len(used) == 1 else used


def null_calibrations(
    used: Sequence[str],
    calibration_of: Callable[[str, str, Sequence[str]], Calibration],
    independents: Sequence[str],
    without_value: Collection[str] = frozenset(),
) -> dict[str, dict[str, Calibration]]:
    """The members of ``combined``'s fused null: each independent (but those ``without_value``) with its calibration
    by each of the ``used`` methods against the *other* independents, the usable ones only; an independent that no
    used method can compare is no member. Each member's fused statistic is the null a suspect's is read against.
    ``benchmarks/fit_fusion_weights.py`` refits a fusion from these calibrations
    (:meth:`gifviz.audit.run_audit.AuditResult.fused_null`)."""
    members = {}
    for j in independents:
        if j in without_value:
            continue
        others = [i for i in independents if i != j]
        calibrations = {m: calibration_of(m, j, others) for m in used}
        usable = {m: c for m, c in calibrations.items() if c.usable}
        if usable:
            members[j] = usable
    return members


def _carried_by(fusion: str, used: Sequence[str], per_method: Mapping[str, Calibration], fused: Calibration) -> str:
    """For a suspect ``by-attack`` calls derived on the methods aimed at one kind of thief, that hypothesis: what a
    reader asks next (was it copied through its probabilities, or through its labels on images of no class), and what
    to check when an innocent model is called derived. Empty otherwise, and when every method together carries the
    verdict (a fine-tuned copy): the fusion's list of methods already says so, and the CLI prints a note that most
    rows share once (``gifviz.cli.audit``)."""
    if fusion != "by-attack" or fused.verdict != "derived":
        return ""
    name, methods = by_attack_hypothesis({m: per_method[m] for m in used})
    if name == EVERY_METHOD:
        return ""
    return f"by-attack's largest hypothesis: {name} ({', '.join(methods)})"


def combined_evidence(
    suspect: str,
    per_method: Mapping[str, Calibration],
    calibration_of: Callable[[str, str, Sequence[str]], Calibration],
    independents: Sequence[str],
    alpha: float,
    fusion: str = DEFAULT_FUSION,
    without_value: Collection[str] = frozenset(),
    one_method: str = DEFAULT_ONE_METHOD,
    score: str = DEFAULT_COMBINED_SCORE,
) -> Calibration:
    """The ``combined`` calibration of ``suspect``.

    Args:
        per_method: the suspect's calibration per method (``n/a`` ones are left out, their notes say why).
        calibration_of: ``(method, model, independents) -> Calibration``, the rule that calibrated ``per_method``
            (each independent is fused from its own, against the other independents).
        independents: the independents the suspect was calibrated against (the suspect itself already left out).
        without_value: those of them with no value in the suspect's own calibration of a fused method (same-arch's
            lone independent of the source's architecture); they are left out of the null and stay among the
            others' independents.
        one_method: with exactly one usable method, ``"own"`` returns that method's own calibration (noted) and
            ``"fused"`` calibrates it again like a fused statistic (:data:`gifviz.audit.names.ONE_METHOD_READINGS`).
        score: ``"fused"``, the score is the fused statistic; ``"calibrated"``, its distance above the independents'
            fused statistics in their standard deviations (:data:`gifviz.audit.names.COMBINED_SCORES` says why the
            default). A suspect read by one method's own calibration keeps that method's score, and an ``n/a`` row
            has none, under both.

    Returns a calibration whose ``distance`` is the suspect's fused statistic, ``score`` as ``score`` says, p-values
    and verdict read against the independents' fused statistics, and whose ``note`` names the fusion, the methods
    fused, the methods left out with why, and the independents left out of the null; for one method read as its own,
    that method's calibration with ``distance`` NaN (no statistic was fused) and a note that says so.
    """
    fuse = fusion_named(fusion)
    check_choice("one-method reading", one_method, ONE_METHOD_READINGS)
    check_choice("combined score", score, COMBINED_SCORES)
    used = [m for m, c in per_method.items() if c.usable]
    # Methods left out for the same reason (three that compare outputs class by class, say) share one reason: a
    # zoo's transfer models would otherwise repeat it once per method on every row.
    reasons: dict[str, list[str]] = {}
    for m, c in per_method.items():
        if not c.usable:
            reasons.setdefault(c.note or "n/a", []).append(m)
    left_out = [f"{', '.join(names)} ({reason})" for reason, names in reasons.items()]
    left = f"; left out: {'; '.join(left_out)}" if left_out else ""
    described = f"{fusion} of {', '.join(used) or 'no method'}{left}"
    if not used:
        return not_available(math.nan, f"no method could compare this model; {described}")
    if not fused_methods(per_method, one_method):  # no fusion and no fused null: the method's own calibration stands
        only = per_method[used[0]]
        own = f"{used[0]}'s own reading (one method: a second calibration of it adds no evidence){left}"
        return dataclasses.replace(only, distance=math.nan, note="; ".join(p for p in (own, only.note) if p))
    outside = [j for j in independents if j in without_value]
    if outside:
        described += f"; not in the fused null: {', '.join(outside)} (no value in this calibration)"
    statistic = fuse({m: per_method[m] for m in used})
    held_out = [
        fuse(member) for member in null_calibrations(used, calibration_of, independents, without_value).values()
    ]
    if len(held_out) < MIN_INDEPENDENTS:
        return not_available(
            statistic,
            f"{described}; the fused evidence is calibrated leave-one-out over the independents and needs "
            f"{MIN_INDEPENDENTS + 1} that these methods can compare ({len(independents)} in use, "
            f"{len(held_out)} fused in the null)",
            len(held_out),
        )
    # Negated: calibrate() reads small values as derived, and a fused statistic is large when derived.
    second = calibrate(-statistic, [-value for value in held_out], alpha, min_spread=FUSED_SPREAD_FLOORS[fusion])
    note = "; ".join(part for part in (described, second.note, _carried_by(fusion, used, per_method, second)) if part)
    # an n/a second reading (a null member without a finite statistic) leaves the row without a score either way
    value = statistic if score == "fused" and second.usable else second.score
    return Calibration(statistic, value, second.p_value, second.p_tail, second.independents, second.verdict, note)
