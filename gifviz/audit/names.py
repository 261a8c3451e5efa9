"""The audit's names and defaults, importable without numpy or torch (the command line's parser shows them)."""

from __future__ import annotations

from collections.abc import Sequence

from gifviz.constants import DISTANCE_METHODS

# The name of the row that fuses every method's evidence for a suspect (gifviz.audit.fusion).
COMBINED = "combined"
# The fusions of gifviz.audit.fusion.FUSIONS, in its order (a test keeps the two in step).
FUSION_NAMES = (
    "stouffer",
    "fisher",
    "best",
    "rank",
    "positive-sum",
    "capped-sum",
    "by-attack",
    "purpose-weighted",
    "per-kind",
    "fitted-weights",
    "by-attack-modeldiff",
    "by-attack-off-task-half",
)
# Stouffer's z of each method's Student-t tail since round eleven (benchmarks/results/round-eleven/DECLARED.md):
# declared before it was scored, chosen on the 32 seen zoos of seeds 65-96 (criterion 0.909 against 0.889 for
# capped-sum, innocent readings derived 24 of 576 under both; the margin comes from seeds 89-96, where its lead had
# been seen before the declaration), and reported on seeds 97-104: a tie (0.915 against 0.914). Round ten's centre (at
# most 0) puts a typical independent's score below 0 for a method whose independents centre above 0; a sum of the
# positive scores (capped-sum) then takes nothing from them and its fused null shrinks, while a sum of z-values keeps
# every method's evidence on both sides, so the null moves with the suspects. Before: capped-sum (the positive scores,
# each capped at 7.94), chosen with the same-arch rule on seeds 1-44 (gifviz.audit.fusion.DEFAULT_FUSION_NOTE has the
# commands and the numbers); a sum of z-values lets the methods that do not see a thief cancel the one that does,
# which the criterion on the seen zoos no longer shows costing more than it gains. Kept in round thirteen
# (benchmarks/results/round-thirteen/DECLARED.md): by-attack, which lets the methods aimed at one kind of thief speak
# for it, lost on the 48 seen zoos of seeds 65-112 (0.892 against 0.902). Kept in round fourteen
# (benchmarks/results/round-fourteen/DECLARED.md): purpose-weighted and per-kind, which weigh those methods in one
# sum, lost on the 56 seen zoos of seeds 65-120 (0.892 and 0.894 against 0.902). Kept in round fifteen
# (benchmarks/results/round-fifteen/DECLARED.md): each method's weight fitted on one half of the 64 seen zoos of seeds
# 65-128 lost 0.034 on the other half and gained 0.002 the other way round (fitted-weights). Those weights, frozen
# since, then led stouffer on each report set they were never fitted on (seeds 129-136, 137-144 and 145-152), and
# round eighteen (benchmarks/results/round-eighteen/DECLARED.md) made them the default: declared before it was scored
# again, chosen on those 24 seen zoos under one code (criterion 0.911 against 0.903; innocent readings derived 17 of
# 816 against 15), and reported on seeds 153-160 (0.956 against 0.936: label extraction's worst case 0.81 against
# 0.73, probability extraction's 0.97 against 0.94; innocent readings derived 4 of 272 against 6). Round nineteen
# (benchmarks/results/round-nineteen/DECLARED.md) changed nothing and scored it again on seeds 161-168: 0.936 against
# 0.920 (probability extraction's worst case 0.89, label extraction's 0.79; innocent readings derived 8 of 272).
# Round twenty (benchmarks/results/round-twenty/DECLARED.md) fitted the weights again on the 40 seen zoos of seeds
# 129-168 under the shipped audit: each half's fit lost to these weights on the other half (cross-fitted gain -0.018),
# so nothing changed, and seeds 169-176 scored it 0.923 against 0.914. Round twenty-one
# (benchmarks/results/round-twenty-one/DECLARED.md) chose among the ten fusions on the 48 seen zoos of seeds 129-176:
# fitted-weights and per-kind tied at the top (0.908), so nothing changed, and seeds 177-184 scored it 0.915 against
# 0.911 (by-attack led there, 0.933, and over the 32 report zoos of seeds 153-184, 0.922 against 0.912: now seen).
# Round twenty-two (benchmarks/results/round-twenty-two/DECLARED.md) added no fusion: its tenth method, source crops,
# tied on the 24 seen zoos of seeds 161-184 (0.9117 both), so nothing changed, and seeds 185-192 scored this audit
# 0.928 against 0.934 for stouffer, the first report set where stouffer led (per-kind 0.938 there: now seen).
# "by-attack" with source crops among the methods since round twenty-three
# (benchmarks/results/round-twenty-three/DECLARED.md): declared before it was scored, the highest criterion of twenty
# candidates (each fusion with and without source crops) on the 32 seen zoos of seeds 161-192, 550/600 against 547/600
# for fitted-weights without them (exactly the +0.005 asked), tied with per-kind without source crops, which lost on
# one half of those zoos (the rule asks no loss on either); innocent readings derived 25 of 1,088 against 32. With
# source crops in its label-only group (off-task, source flips, source crops), the largest of its hypotheses no longer
# lets the methods that see nothing of a thief dilute those that do; without them it scored 0.911 there. Reported on
# seeds 193-200, never scored before: 0.923 against 0.931 for the audit before it (fitted-weights without source
# crops; benchmarks/results/round-twenty-three/previous-audit), so the change did not hold there (now seen). Kept in
# round twenty-four (benchmarks/results/round-twenty-four/DECLARED.md): on the 40 seen zoos of seeds 161-200 it tied
# per-kind without source crops at the top of the same twenty candidates (550/600), and a tie changes nothing.
# Reported on seeds 201-208, never scored before: 0.930 against 0.935 for the audit before it and 0.937 for by-attack
# without source crops (now seen). Kept in round twenty-five (benchmarks/results/round-twenty-five/DECLARED.md), whose
# candidate, each hypothesis read against its own spread over the independents, lost on the 48 seen zoos of seeds
# 161-208 (-0.012, innocent readings derived 66 of 864 against 32); reported on seeds 209-216: 0.925 against 0.930
# for the audit before it (benchmarks/results/round-twenty-five/previous-audit). Kept in round twenty-six, which
# changed combined's score (DEFAULT_COMBINED_SCORE) and the default methods (DEFAULT_METHODS) instead, and in round
# twenty-seven (benchmarks/results/round-twenty-seven/DECLARED.md), whose candidate, fitted-weights scored by its fused
# statistic, lost on the 64 seen zoos of seeds 161-224 (0.897 against 0.902, below on both halves, innocent readings
# derived 54 of 1,152 against 40); reported on seeds 225-232: 0.934 (fitted-weights 0.938 there).
DEFAULT_FUSION = "by-attack"
# The default before round eleven, whose row the Benchmarks page names as the fusion before round eleven.
PREVIOUS_FUSION = "capped-sum"
# The default of rounds eleven to seventeen, whose row the Benchmarks page names as the audit before round eighteen.
STOUFFER = "stouffer"
# The default of rounds eighteen to twenty-two (without source crops among the methods).
FITTED_WEIGHTS_FUSION = "fitted-weights"
# What a method's evidence is read on (gifviz.audit.reading): "same-arch", the source's distance to the model minus
# the model's mean distance to the independents of the source's architecture (all of them when none is in use in a
# calibration); "relative", the same against every independent; or "absolute", the raw distance against the
# independents' distances from the source. Relative was chosen on design zoos (seeds 5-12) and reported on zoos built
# after (seeds 13-16, and again 17-24); same-arch (with capped-sum) on stress seeds 1-44, all seen, and reported on
# 49-52, in its first form on 45-48 (docs/audit-history.md, step 14), with the fused null of step 15 on 53-60
# and 61-64, and with CKA among the methods (step 16) on 65-68 and 65-72.
SAME_ARCH = "same-arch"
RELATIVE = "relative"
ABSOLUTE = "absolute"
CALIBRATION_RULES = (SAME_ARCH, RELATIVE, ABSOLUTE)
DEFAULT_CALIBRATION = SAME_ARCH
# The audit's own evidence beside the distance methods (gifviz.audit.flips): flips of the references crafted on the
# source, weighed by how few of the independents follow them. It needs the independents, so it exists only in an
# audit (not among gifviz.methods' distance methods).
SOURCE_FLIPS = "source-flips"
# The audit's evidence beside it (gifviz.audit.crops): the source's own answers on crops of natural photographs,
# weighed as the flips are, by how few of the independents give them. Round twenty-two's candidate, which tied
# with the fusion of its time (benchmarks/results/round-twenty-two/DECLARED.md); a default since round twenty-three,
# with by-attack (DEFAULT_FUSION).
SOURCE_CROPS = "source-crops"
AUDIT_METHODS = (*DISTANCE_METHODS, SOURCE_FLIPS, SOURCE_CROPS)
# The white-box field, the decision-based peers, and three kinds of evidence of gifviz's own that see what those
# miss: the ranking of the other classes (probability thieves), answers on natural photographs, and the source's own
# flips that no independent follows (both: label-only thieves without task data). Dark knowledge and off-task were
# chosen on design zoos (seeds 5-8) that are never used to report (the README says where the off-task idea came
# from, and why its stress-zoo numbers are a best case). source-flips was added on stress seeds 1-32, all seen: the
# criterion ties (0.894 against 0.893 on seeds 1-28; 0.923 against 0.924 on 29-32), and at the stated rate it finds
# more thieves with no more innocent models accused (1-28: 438 of 840 thieves derived against 351, innocent models
# of the task 17 of 504 against 18; docs/audit-history.md, step 11, the tie-break), and reported on seeds 33-36 and,
# as corrected after that report (step 12), on 37-40 and 41-44 (leaving any one method out lowers the criterion on
# seeds 1-40, 0.819-0.895 against 0.898). Each costs seconds on a small zoo (source flips: 40 forward and backward
# passes of the source per reference and runner-up class, 9 of them at most; ZEST is available by name). Linear CKA
# of the penultimate features (white-box, any width) joined on stress seeds 1-64, all seen, declared before it was
# scored: 0.881 against 0.869 (innocent readings derived 50 of 1152 and 24 of 1024, as before), fused for suspects of
# the source's classes only (read for transfer models too, it lowered their worst case to 0.81: innocent models of
# the other task look alike to it as well); step 16 in docs/audit-history.md and
# benchmarks/results/audit-seeds-1-64/DECLARED.md. First-layer weights (gifviz.methods.first_layer: does the suspect
# still carry the source's input filters?) joined in round sixteen (benchmarks/results/round-sixteen/DECLARED.md):
# declared before it was scored, chosen on the 72 seen zoos of seeds 65-136 (criterion 0.902 against 0.892 without it,
# transfer's worst case 0.96 against 0.92; innocent readings derived 51 of 1296 of the source's task against 50, 21 of
# 1152 of the other task against 27), fused for every suspect it can compare (WEIGHT_SCOPES: 0.899 when fused for
# suspects of another task only); reported on seeds 137-144, a tie (0.909 against 0.910 without it: transfer's worst
# case 1.00 against 0.99, label and probability extraction's 0.01 lower) and, under round seventeen's cross-task null,
# on seeds 145-152 (0.932 against 0.929: transfer's worst case 1.00 against 0.97, label extraction's 0.02 lower).
# Source crops joined with by-attack in round twenty-three (DEFAULT_FUSION says why; alone, with fitted-weights, it
# tied in round twenty-two) and left in round twenty-six, with the fused statistic as combined's score
# (DEFAULT_COMBINED_SCORE): without it, 0.902 against 0.901 with it on the 56 seen zoos of seeds 161-216, and natural
# label-only thieves' worst case 0.91 against 0.86. Still a method a user can name (AUDIT_METHODS). off-task-kappa
# (the off-task answers read as agreement beyond chance) was round twenty-eight's candidate in off-task's place: better
# alone, but fused it lowered the criterion on the 16 seen zoos of seeds 217-232 (0.9625 against 0.9667;
# benchmarks/results/round-twenty-eight/DECLARED.md), so it is a method a user can name, not a default.
DEFAULT_METHODS = (
    "modelgif",
    "modeldiff",
    "sac-m",
    "disagreement",
    "dark-knowledge",
    "off-task",
    SOURCE_FLIPS,
    "cka",
    "first-layer",
)
# The methods aimed at one kind of thief, by the purpose each was added for (above): the ranking of the other classes
# for probability thieves (dark knowledge, or in its place dark-knowledge-mix, the same ranking read on blends of the
# references: round thirty-seven's candidate, a method to name, grouped here so that naming it reads it as that round
# did); answers on natural photographs (off-task disagreement, or off-task-kappa in its place: the twin that round
# twenty-eight tried), the source's own flips and ModelGiF's field on crops of photographs (round
# thirty-one's candidate, gifviz.methods.crops_field) for label-only thieves that queried with images of no class. The
# fusion ``by-attack`` (round thirteen's candidate) reads each group as one hypothesis beside every method together;
# ``purpose-weighted`` and ``per-kind`` (round fourteen's) weigh them in one sum. Not fitted: CKA, which reads
# probability thieves well on the stress zoos, is not in a group, since putting it there would be a choice made on those
# zoos.
# Pairs of methods that read the same evidence two ways, each a round's candidate in the first one's place: named
# together, ``combined`` fuses that evidence twice (the CLI and the Audit page say so; the design runs of rounds
# twenty-eight and thirty-seven named both only to read each one). Each pair maps to what the two share.
TWIN_METHODS: dict[tuple[str, str], str] = {
    ("off-task", "off-task-kappa"): "the same answers on the same crops",
    ("dark-knowledge", "dark-knowledge-mix"): "the ranking of the wrong classes, on references and blends of them",
}


def twin_methods_warning(methods: Sequence[str]) -> str | None:
    """What to tell a user who named both methods of a pair of :data:`TWIN_METHODS` (the command line and the app's
    Audit page say it), one clause per such pair; ``None`` when no pair is named whole."""
    named = set(methods)
    clauses = [f"{a} and {b} read {shared}" for (a, b), shared in TWIN_METHODS.items() if {a, b} <= named]
    if not clauses:
        return None
    return f"{'; '.join(clauses)}; 'combined' fuses that evidence twice (name one of each pair)"


ATTACK_EVIDENCE = {
    "probability extraction": ("dark-knowledge", "dark-knowledge-mix"),
    "label-only extraction with images of no class": (
        "off-task",
        "off-task-kappa",
        SOURCE_FLIPS,
        SOURCE_CROPS,
        "modelgif-crops",
    ),
}
# The methods the fusion ``by-attack-modeldiff`` (round forty-six's candidate, benchmarks/results/round-forty-six)
# reads beside each group of ATTACK_EVIDENCE, as one more hypothesis per group. ModelDiff compares how the two
# models' outputs move between each reference and a partner crafted on the source (decision distance vectors), which a
# model trained on the source's outputs can follow whatever its architecture: over the 168 report stress zoos of seeds
# 217-288 and 290-385 its z alone reads the MLP thieves against the innocent models at a mean per-zoo AUC of 0.81
# (probability thieves) and 0.78 (natural-image label thieves); of the other methods in no group only CKA comes near,
# for probability thieves only (0.78, and 0.57). ModelDiff sits in no group, so by-attack reads it only among every
# method, where the methods that see nothing of such a thief dilute it.
ATTACK_COMPANIONS = ("modeldiff",)
# The weights the fusion ``by-attack-off-task-half`` (round forty-eight's candidate,
# benchmarks/results/round-forty-eight) gives the methods of one group of ATTACK_EVIDENCE in that group's hypothesis
# (a method not named weighs 1). Over the 200 report stress zoos of seeds 217-288, 290-409 and 411-418 (medians from
# benchmarks/results/round-forty-eight/search_figures.py), source flips reads every kind of
# natural-image label thief (tail z median 2.11 for MLP thieves, 3.28 for the others, -0.28 for innocent models of
# the source's task), while off-task reads the MLP label thieves weakly (median 1.21) and lifts some innocent models
# to 1.55-2.27 (seeds 298, 313, 376, 403, 417): halving off-task's weight keeps the first and damps the second. It
# tied the shipped fusion on round forty-eight's sixteen report zoos (15 at the goal each), so it is not the default.
ATTACK_GROUP_WEIGHTS: dict[str, dict[str, float]] = {
    "label-only extraction with images of no class": {"off-task": 0.5},
}
# The weights of the fusion ``fitted-weights`` (round fifteen's candidate, benchmarks/results/round-fifteen): fitted
# on the seen stress zoos of seeds 65-128 by ``python benchmarks/fit_fusion_weights.py``, a coordinate search of each
# method's weight over (0.25, 0.5, 1, 1.5, 2, 3) for the mean over fine-tuning, pruning, label and probability
# extraction of the worst-case AUC across zoos, with each model's combined read exactly as the audit reads it
# (design/fit.json there). Not the default in round fifteen: fitted on one half of those zoos, weights scored 0.034
# below equal weights on the other half and 0.002 above the other way round (cross-fitted gain -0.016; the
# declaration asked +0.005). Unchanged since, and the default since round eighteen (DEFAULT_FUSION says why). A
# method not named here (first-layer, ZEST) weighs 1.
FITTED_WEIGHTS: dict[str, float] = {
    "modelgif": 1.0,
    "modeldiff": 1.5,
    "sac-m": 0.25,
    "disagreement": 0.5,
    "dark-knowledge": 1.5,
    "off-task": 1.0,
    "source-flips": 1.5,
    "cka": 1.0,
}
# Methods whose values are read raw whatever the calibration rule: their evidence is already taken against the
# independents (the relative rule would subtract the independents a second time).
SELF_CALIBRATED_METHODS = (SOURCE_FLIPS, SOURCE_CROPS)
# Methods that read a model's weights, not its answers (gifviz.methods.first_layer), and how the audit reads them
# (round sixteen, benchmarks/results/round-sixteen/DECLARED.md): raw, whatever the calibration rule (the
# relative rules take out how far a model's kind sits from every model by its function; first layers of one shape
# sit at one distance from each other whatever the rest of the network, so there is no such offset to take out, only
# noise to add); fused for a suspect of another task too (a new head does not change where the first layer came
# from); and calibrated against every independent they can compare whatever the cross-task null (other-kinds
# leaves the source's own kind out for the closeness of models of the source's task, which weights do not see).
WEIGHT_METHODS = ("first-layer",)
# The methods `combined` reads for a suspect with other output classes than the source (a transfer model, a model of
# another task): the output-based peers then compare the new head's answers, which say little about where the
# backbone came from, and on the stress zoos they put innocent models of the other task far out (ModelDiff) or rank
# them above transfer models (SAC-m: 0.68 / 0.56 on seeds 17-24; 0.13 on the outside zoo of the audit's brief, where
# ModelGiF gives 0.82). Chosen on stress seeds 1-24 (transfer worst case 0.95 -> 1.00, nothing else changes) and
# reported on seeds 25-28. When none of them can compare the suspect, every method that can is fused, as before.
# The weight methods joined them in round sixteen (above); where ModelGiF cannot compare such a suspect and a weight
# method can, combined is that method's own reading.
CROSS_TASK_METHODS = ("modelgif", *WEIGHT_METHODS)
# The label of benchmarks/audit_selection.py's descriptive row (the shipped audit with the rule switched off), which
# the app's Benchmarks page reads back from the results it ships.
NO_CROSS_TASK = "combined without the cross-task rule"
# How `combined` reads a suspect for which it fuses exactly one method (the cross-task rule's ModelGiF alone, or an
# audit run with one method): "fused" calibrates that method's score a second time against the independents' fused
# null, as for several methods; "own" takes the method's own calibration, since a second calibration of one method
# adds no evidence. "own" since round eight (benchmarks/results/transfer-long/DECLARED.md): chosen on copies of stress
# seeds 65-72 with long transfer models added, criterion 0.932 against 0.913 (transfer's worst case 0.97 against
# 0.88, innocent readings derived unchanged), and reported on seeds 73-80.
ONE_METHOD_READINGS = ("fused", "own")
DEFAULT_ONE_METHOD = "own"
# What the ``combined`` row's score is, where a statistic was fused (a suspect read by one method keeps that method's
# own reading under both): "calibrated", the fused statistic read against its null members' fused statistics (its
# distance above their mean in their standard deviation, floored), as its p-value and verdict are; "fused", the fused
# statistic itself (already on the scale of the independents: each method's evidence is a calibration against them),
# with the p-value and the verdict still read against the null. Under "fused" a suspect read by one method keeps that
# method's score, in its own standard deviations, which is not the scale of a fused z: such suspects (a model of
# another task that only ModelGiF reads) and fused ones are best compared by their verdicts and p-values. The null's
# mean and spread are estimated from about seven values and differ from suspect to suspect, so dividing by them again
# reorders suspects by noise: the verdict needs that reading, the ranking did not gain from it. "fused" since round
# twenty-six (benchmarks/results/round-twenty-six/DECLARED.md): chosen, with source crops out of DEFAULT_METHODS, as
# the best of 24 variants tried on the 56 seen zoos of seeds 161-216 (not declared before they were scored there:
# criterion 0.902 against 0.896, above on both halves and on 7 of 7 eight-zoo sets; innocent readings derived 34 of
# 1,008 against 37), and reported on seeds 217-224: 0.934 against 0.932 for the audit before it
# (round-twenty-six/previous-audit; probability thieves' worst case 0.96 against 0.94, innocent readings derived 6 of
# 272 against 2).
COMBINED_SCORES = ("calibrated", "fused")
DEFAULT_COMBINED_SCORE = "fused"
# The label of benchmarks/audit_selection.py's row for the other score, printed beside the audit as run.
COMBINED_SCORE_OTHER = next(c for c in COMBINED_SCORES if c != DEFAULT_COMBINED_SCORE)
COMBINED_SCORE_COLUMN = f"combined, score read as '{COMBINED_SCORE_OTHER}'"
# The label of benchmarks/audit_selection.py's other descriptive row (beside NO_CROSS_TASK): the shipped fusion with
# the reading of one fused method that is not the default (before round eight, "fused" was); the app shows it as
# "one fused method read as fused (as before round eight)".
ONE_METHOD_OTHER = next(r for r in ONE_METHOD_READINGS if r != DEFAULT_ONE_METHOD)
ONE_METHOD_COLUMN = f"combined, one method fused read as '{ONE_METHOD_OTHER}'"
# How small a calibration's spread may get for a method whose distance is a share of its samples (output and off-task
# disagreement: gifviz.methods.interface.DistanceMethod.share_of_samples): "value", floored at 0.1% of the values'
# scale as for every method; "sampling", also at the sampling error of one such rate at the independents' mean
# (gifviz.audit.reading.sampling_error). Independents whose rates coincide to the count are a tie at the measurement's
# resolution, not a spread of zero: on stress seed 75 an innocent MLP scored 695 on a two-reference difference.
# "sampling" since round nine (benchmarks/results/rate-spread/DECLARED.md): declared before it was scored, chosen on
# the sixteen seen zoos of seeds 65-80 (criterion 0.915 against 0.898, innocent readings derived unchanged: 10 of
# 288 and 0 of 256), and reported on seeds 81-88.
RATE_SPREADS = ("value", "sampling")
DEFAULT_RATE_SPREAD = "sampling"
# The label of benchmarks/audit_selection.py's row for the other rate spread, printed beside the shipped audit.
RATE_SPREAD_OTHER = next(r for r in RATE_SPREADS if r != DEFAULT_RATE_SPREAD)
RATE_SPREAD_COLUMN = f"combined, rate spread '{RATE_SPREAD_OTHER}'"
# Where a method's calibration is centred when its values are read against the anchors (the same-arch and relative
# rules, gifviz.audit.reading): "mean", the independents' mean value; "bounded", that mean or 0, whichever is on the
# derived side. A relative value is 0 for a model no closer to the source than to its kin; the independents' mean sits
# above 0 where models are mostly farther from the source than from its kin (ModelDiff crafts its input pairs on the
# source), and a model far from all of them (an innocent MLP among CNNs) does not share that bias and read as derived.
# "bounded" since round ten (benchmarks/results/null-centre/DECLARED.md): declared before it was scored, chosen on the
# 24 seen zoos of seeds 65-88 (criterion 0.914 against 0.897; innocent readings derived 13 of 432 against 18, the MLP
# independents' 1 of 48 against 6), and reported on seeds 89-96, where it lost with capped-sum (0.891 against 0.911,
# innocent readings derived 11 of 144 against 6); round eleven's stouffer keeps what the bound puts below 0.
NULL_CENTRES = ("mean", "bounded")
DEFAULT_NULL_CENTRE = "bounded"
# The label of benchmarks/audit_selection.py's row for the other null centre, printed beside the shipped audit.
NULL_CENTRE_OTHER = next(c for c in NULL_CENTRES if c != DEFAULT_NULL_CENTRE)
NULL_CENTRE_COLUMN = f"combined, null centre '{NULL_CENTRE_OTHER}'"
# Which independents calibrate a suspect with other output classes than the source (a transfer model, a model of another
# task): "all" of them; or "other-kinds", those of other architectures than the source's, as long as there are 3 of them
# (what combined's fused null needs; fewer: all, and the row says so), under every calibration rule. The source's own
# kind shares its task and its architecture, and under the relative rule (the cross-task reading) those independents
# look nearly as derived as a transfer model does (measured under the default rule only): over stress seeds 65-104,
# ModelGiF's cross-task values of the independents of a small-ResNet source's kind average -0.069 (as low as -0.162)
# against -0.010 for the other kinds, so the null they join is wide, and the transfer models of such sources (-0.119 on
# average) read as independent. A model of another task does not share that closeness. "other-kinds" since round twelve
# (benchmarks/results/cross-task-null/DECLARED.md): declared before it was scored, chosen on the 40 seen zoos of seeds
# 65-104 (criterion 0.906 against 0.887: transfer's worst case 0.953 against 0.859; innocent readings of the other task
# derived 14 of 640 against 4, of the source's task 28 of 720 under both), and reported on seeds 105-112 (a tie, 0.913
# against 0.913; 94 of 96 transfer models derived against 90) and, unchanged, on seeds 113-120 (0.943 against 0.938;
# transfer's worst case 0.99 against 0.97, 93 of 96 derived against 82), 121-128 (0.921 against 0.923: transfer's
# worst case 0.96 against 0.97, 92 of 96 derived against 90; innocent readings of the other task 4 of 128 against 1)
# and 129-136 (0.898 against 0.891: transfer's worst case 0.92 against 0.89, 86 of 96 derived against 80; innocent
# readings of the other task 5 of 128 against 1). "all" again since round seventeen
# (benchmarks/results/round-seventeen/DECLARED.md): since round sixteen combined reads such a suspect by ModelGiF and
# its first layer together, and the first layer is calibrated against every independent with the source's first-layer
# shape whatever this null says, so the source's kind no longer hides transfer models; chosen on the 80 seen zoos of
# seeds 65-144 (criterion 0.901 against 0.893: transfer's worst case 1.00 against 0.96; innocent readings of the other
# task derived 16 of 1280 against 21), and reported on seeds 145-152 (0.932 against 0.926: transfer's worst case 1.00
# against 0.97, 96 of 96 transfer models derived against 95; innocent readings of the other task 2 of 128 against
# 3). "other-kinds" stays the setting for an audit whose transfer suspects the first
# layer cannot read (a model behind an API, another stem): ModelGiF alone reads them, as round twelve measured.
OTHER_KINDS = "other-kinds"
CROSS_TASK_NULLS = ("all", OTHER_KINDS)
DEFAULT_CROSS_TASK_NULL = "all"
# The label of benchmarks/audit_selection.py's row for the other cross-task null, printed beside the shipped audit.
CROSS_TASK_NULL_OTHER = next(c for c in CROSS_TASK_NULLS if c != DEFAULT_CROSS_TASK_NULL)
CROSS_TASK_NULL_COLUMN = f"combined, cross-task null '{CROSS_TASK_NULL_OTHER}'"
# Which suspects' ``combined`` fuses the weight methods (round sixteen's two candidates, with WEIGHT_METHODS above;
# "every-suspect" chosen on seeds 65-136, 0.902 against 0.899, DEFAULT_METHODS says more):
# "every-suspect", each one they can compare; or "other-task", only a suspect with other output classes than the
# source, for which the output-based methods are set aside. For a suspect of the source's task, a model that started
# from the source's weights is seen by its function as well (fine-tuned and pruned models: AUC 1.00 on every report
# so far), while a thief or an innocent model with the source's first layer adds a z near 0 that dilutes the methods
# that do see it.
WEIGHT_SCOPES = ("every-suspect", "other-task")
DEFAULT_WEIGHT_SCOPE = "every-suspect"
# The label of benchmarks/audit_selection.py's row for the other scope, printed beside the audit as run.
WEIGHT_SCOPE_OTHER = next(s for s in WEIGHT_SCOPES if s != DEFAULT_WEIGHT_SCOPE)
WEIGHT_SCOPE_COLUMN = f"combined, weight methods fused for '{WEIGHT_SCOPE_OTHER}'"
# The label of benchmarks/audit_selection.py's row of the audit with first-layer left out (``--without first-layer``):
# the audit before round sixteen, which the app's Benchmarks page names so.
NO_FIRST_LAYER = "combined without first-layer"
# The same with source crops left out (``--without source-crops``): round twenty-three's method undone, the fusion kept.
NO_SOURCE_CROPS = "combined without source-crops"
DEFAULT_ALPHA = 0.05
DEFAULT_N_REFS = 128
# Under this many independents an empirical p-value cannot go below 1/(n+1) >= 1/5: flagged as coarse.
COARSE_BELOW = 5

VERDICTS = ("derived", "independent", "inconclusive", "n/a")
# What each verdict claims, shown under every audit (command line and app). "independent" is the verdict users most
# easily over-read: it says the evidence did not set the suspect apart, which a thief can also earn (README: the
# stress zoos, where the audit's verdicts are counted per kind of thief). Over the 224 report zoos of seeds 217-288,
# 290-409 and 411-442, the MLP thieves called independent: 118 of 448 probability thieves and 125 of 448 natural-image
# label thieves (61 and 54 more inconclusive; verdicts_by_model.csv of each set, fusion by-attack).
VERDICT_MEANING = (
    "Each verdict is read at the stated false-positive rate, per method and for combined (the methods' evidence "
    "fused, then read against the independents' own fused evidence; where one method alone can compare the suspect, "
    "that method's own reading). derived: the evidence sets the suspect apart "
    "from the independents; with several methods, one of them alone does so for innocent models more often than the "
    "rate. inconclusive: the empirical and the Student-t p-values disagree. independent: the evidence does not set it "
    "apart (combined can say so while one method alone says derived). That is no proof of innocence: on gifviz's "
    "stress zoos, most label-only thieves that queried the source's own kind of data, and about one in four of the "
    "probability and natural-image label thieves built as MLPs, get it. n/a: the method (for combined, every method) "
    "could not compare it, or too few independents could be compared (2 per method, 3 for combined when it fuses "
    "several)."
)
UNLEARNING_VERDICTS = ("like retraining", "close to the original", "inconclusive", "n/a")
# How gifviz verify-unlearning reads "at least as far from the original as the retrained models"
# (gifviz.audit.unlearning.retrained_threshold). "closest": at least the closest retrained reference's distance, the
# unlearning testbed's rule; judged leave-one-out, the retrained candidate closest to the original is then always
# "close to the original", whatever the distances. "prediction": at least the lower bound of a one-sided prediction
# interval, at the false-positive rate, of the retrained references' log-distances (Student-t), so that a model
# retrained like them is called "close to the original" at about that rate.
CLOSEST = "closest"
PREDICTION = "prediction"
UNLEARNING_RULES = (CLOSEST, PREDICTION)
# prediction since unlearning round one (benchmarks/results/unlearning-round-one/DECLARED.md): declared before any
# unlearning stress zoo existed, chosen on seeds 1-5, 7, 8 and 17 by ModelGiF (balanced accuracy 0.953 against 0.875;
# 64 of 64 unlearned copies called close to the original under both, 29 of 32 retrained models like retraining
# against 24), and reported on seeds 9-16.
DEFAULT_UNLEARNING_RULE = PREDICTION
