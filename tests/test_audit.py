"""``gifviz audit`` and ``gifviz verify-unlearning``: calibration against independents, leave-one-out, the combined
evidence, every bad input as one line, and the commands end to end on a zoo of known lineage built here."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from lineage_zoo import INDEPENDENTS
from scipy import stats

from gifviz.audit import FUSIONS, AuditError, ReadingSettings, SelfCheck, audit, calibrate, verify_unlearning
from gifviz.audit.calibration import Calibration, decide
from gifviz.audit.flips import weighted_distance
from gifviz.audit.fusion import DEFAULT_FUSION_NOTE, FUSED_SPREAD_FLOORS, combined_evidence, weighted_stouffer
from gifviz.audit.names import (
    ATTACK_GROUP_WEIGHTS,
    AUDIT_METHODS,
    CLOSEST,
    CROSS_TASK_METHODS,
    DEFAULT_ALPHA,
    DEFAULT_COMBINED_SCORE,
    DEFAULT_CROSS_TASK_NULL,
    DEFAULT_FUSION,
    DEFAULT_METHODS,
    DEFAULT_NULL_CENTRE,
    DEFAULT_RATE_SPREAD,
    FITTED_WEIGHTS,
    FUSION_NAMES,
    SAME_ARCH,
    SELF_CALIBRATED_METHODS,
    SOURCE_CROPS,
    UNLEARNING_RULES,
    VERDICT_MEANING,
    VERDICTS,
    WEIGHT_METHODS,
    twin_methods_warning,
)
from gifviz.audit.reading import sampling_error
from gifviz.audit.roles import audit_roles
from gifviz.audit.run_audit import COMBINED, CSV_COLUMNS, AuditRow, assess
from gifviz.audit.unlearning import retrained_threshold
from gifviz.cli import main
from gifviz.config import FieldConfig
from gifviz.errors import ConfigError, GifvizError, ManifestError
from gifviz.hub.zoo import Zoo
from gifviz.methods.registry import METHODS
from gifviz.refs import load_reference_folder

FIELD = FieldConfig(steps=4)


@pytest.fixture(scope="module")
def audited(lineage):
    """One audit of every suspect, two independents among them (leave-one-out); no field store."""
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space)
    suspects = ["ft1", "ft2", "transfer", "ind0", "ind1"]
    return audit(zoo, "source", suspects, None, references=references, field_config=FIELD)


# --- calibration rule -------------------------------------------------------------------------------------------

SPREAD = [0.80, 0.85, 0.90, 0.95, 1.00]


def test_empirical_p_counts_the_independents_at_least_as_close():
    for distance, closer in ((0.1, 0), (0.86, 2), (0.9, 3), (1.5, 5)):
        assert calibrate(distance, SPREAD, 0.05).p_value == pytest.approx((1 + closer) / (len(SPREAD) + 1))


def test_score_grows_as_the_suspect_moves_towards_the_source():
    scores = [calibrate(d, SPREAD, 0.05).score for d in (1.2, 0.9, 0.5, 0.1)]
    assert scores == sorted(scores) and scores[1] == pytest.approx(0.0)


def test_verdicts_need_both_p_values_to_agree():
    assert calibrate(0.1, SPREAD, 0.05).verdict == "derived"  # far below every independent
    assert calibrate(0.92, SPREAD, 0.05).verdict == "independent"  # among them
    # closer than every independent, yet inside their tail: the tail model does not confirm
    assert calibrate(0.78, SPREAD, 0.05).verdict == "inconclusive"
    # the tail model says "derived" but an independent is as close: they disagree
    assert decide(p_value=0.5, p_tail=0.01, independents=5, alpha=0.05) == "inconclusive"


def test_with_many_independents_the_empirical_p_alone_may_reach_alpha():
    many = [1.0 + 0.01 * i for i in range(40)]
    result = calibrate(1.005, many, 0.05)  # one independent closer: p = 2/41 < 0.05
    assert result.p_value == pytest.approx(2 / 41)
    assert decide(result.p_value, 0.01, 40, 0.05) == "derived"


def test_few_independents_are_flagged_coarse_and_cautious():
    two = calibrate(0.5, [0.8, 0.9], 0.05)
    assert "coarse" in two.note and two.p_value == pytest.approx(1 / 3)
    assert two.verdict == "inconclusive"  # beyond both, but a Cauchy tail with two points does not confirm
    assert "coarse" not in calibrate(0.5, SPREAD, 0.05).note


def test_what_cannot_be_calibrated_is_not_available():
    assert calibrate(math.nan, SPREAD, 0.05).verdict == "n/a"
    one = calibrate(0.1, [0.9, math.nan], 0.05)  # the other independent cannot be compared
    assert one.verdict == "n/a" and "needs 2" in one.note


def test_fusions_are_named_alike_in_the_parser_and_the_library():
    assert tuple(FUSIONS) == FUSION_NAMES


def test_the_fusion_note_cites_results_that_ship_with_the_checkout():
    """Every result folder the default fusion's note (written into each audit.json) cites exists, with a benchmark's
    output or a choice's declaration (the candidates and condition written before they were scored, then the result)."""
    cited = re.findall(r"benchmarks/results/[\w.-]+", DEFAULT_FUSION_NOTE)
    assert len(cited) >= 5
    root = Path(__file__).resolve().parents[1]
    held = ("selection.csv", "DECLARED.md")
    assert [c for c in cited if not any((root / c / name).is_file() for name in held)] == []


def test_positive_sum_adds_what_each_method_sees_and_nothing_else():
    def scored(score: float) -> Calibration:
        return Calibration(0.0, score, 0.5, 0.5, 8, "independent")

    def methods(*scores: float) -> dict[str, Calibration]:
        return {f"method-{i}": scored(score) for i, score in enumerate(scores)}

    fuse = FUSIONS["positive-sum"]
    # two methods that each see the model a little outweigh one that sees an innocent far out alone
    seen_twice, seen_once = methods(2.0, 2.5, -1.0), methods(4.0, -3.0, -3.0)
    assert fuse(seen_twice) == pytest.approx(4.5) and fuse(seen_once) == pytest.approx(4.0)
    assert FUSIONS["best"](seen_twice) < FUSIONS["best"](seen_once)  # where the largest score alone decides
    # a method that sees nothing adds nothing: it cannot cancel the one that does (as a sum of z-values would)
    assert fuse(methods(3.0, -5.0)) == fuse(methods(3.0))
    assert fuse(methods(-1.0, -2.0)) == 0.0


def test_tail_probabilities_of_0_and_1_keep_every_fusion_finite():
    # a t tail rounds to exactly 1 for a model far on the independents' side (and to 0 far on the source's)
    extremes = {
        "modelgif": Calibration(0.0, -40.0, 1.0, 1.0, 8, "independent"),
        "dark-knowledge": Calibration(0.0, 40.0, 1.0, 0.0, 8, "independent"),
        "source-flips": Calibration(0.0, 0.0, 1.0, 0.5, 8, "independent"),
    }
    for name, fuse in FUSIONS.items():
        for subset in ({"modelgif": extremes["modelgif"]}, {"dark-knowledge": extremes["dark-knowledge"]}, extremes):
            assert math.isfinite(fuse(subset)), (name, subset)


def test_a_fusion_whose_independents_all_sit_at_zero_does_not_accuse_a_hair_above_them():
    # positive-sum of one method: the three independents, each read against the other two, all see nothing (0)
    def scored(score: float) -> Calibration:
        return Calibration(0.0, score, 0.5, 0.5, 2, "independent")

    independents = ["a", "b", "c"]
    hair, clear = {"m": scored(0.01)}, {"m": scored(3.0)}

    def fused(per_method: dict[str, Calibration]) -> Calibration:  # one method, read as a fused statistic
        return combined_evidence("s", per_method, lambda m, j, o: scored(-0.5), independents, 0.05, "positive-sum",
                                 one_method="fused", score="calibrated")  # fmt: skip

    combined = fused(hair)
    assert combined.score == pytest.approx(0.01 / FUSED_SPREAD_FLOORS["positive-sum"])
    assert combined.verdict != "derived"
    # evidence that stands out from them by several of the floor's units still does
    combined = fused(clear)
    assert combined.score == pytest.approx(3.0 / FUSED_SPREAD_FLOORS["positive-sum"]) and combined.verdict == "derived"


def test_the_combined_score_is_the_fused_statistic_and_only_the_score_changes_with_the_reading():
    # three methods fused by by-attack; the six independents' own evidence spreads around 0
    independents = ["a", "b", "c", "d", "e", "f"]
    spread = dict(zip(independents, (-1.5, -0.8, -0.2, 0.1, 0.6, 1.2), strict=True))

    def at(score: float, p_tail: float) -> Calibration:
        return Calibration(score, score, 0.5, p_tail, 5, "independent")

    def calibration_of(method: str, model: str, others) -> Calibration:
        value = spread[model]
        return at(value, float(stats.norm.sf(value)))

    suspect = {m: at(2.5, float(stats.norm.sf(2.5))) for m in ("modelgif", "dark-knowledge", "off-task")}
    fused, calibrated = (
        combined_evidence("s", suspect, calibration_of, independents, 0.05, "by-attack", score=reading)
        for reading in ("fused", "calibrated")
    )
    # the score is the statistic itself: the largest of the hypotheses' Stouffer's z (every method: 2.5 * sqrt(3))
    assert fused.score == pytest.approx(fused.distance) == pytest.approx(2.5 * math.sqrt(3))
    # the calibrated score reads it against the independents' own statistics, with the same p-values and verdict
    null = [max(v * math.sqrt(3), v) for v in spread.values()]
    assert calibrated.score == pytest.approx((fused.distance - np.mean(null)) / np.std(null, ddof=1))
    assert (fused.p_value, fused.p_tail, fused.verdict, fused.note) == (
        calibrated.p_value,
        calibrated.p_tail,
        calibrated.verdict,
        calibrated.note,
    )
    assert fused.verdict == "derived"
    with pytest.raises(AuditError, match="combined score"):
        combined_evidence("s", suspect, calibration_of, independents, 0.05, score="raw")


def test_one_method_fused_can_be_read_as_its_own_calibration():
    # a transfer model's combined fuses ModelGiF alone: "own" keeps that reading, "fused" calibrates it a second time
    mine = Calibration(0.3, -0.7, 0.2, 0.25, 6, "independent", note="read against 6")
    independents = ["a", "b", "c", "d", "e", "f"]
    spread = [Calibration(0.5, s, 0.5, 0.5, 5, "independent") for s in (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0)]

    def calibration_of(method: str, model: str, others) -> Calibration:
        return spread[independents.index(model)]

    own = combined_evidence("s", {"modelgif": mine}, calibration_of, independents, 0.05, "capped-sum", one_method="own")
    assert math.isnan(own.distance)  # no statistic was fused
    assert (own.score, own.p_value, own.verdict) == (-0.7, 0.2, "independent")
    assert (
        own.note == "modelgif's own reading (one method: a second calibration of it adds no evidence); read against 6"
    )
    fused = combined_evidence(
        "s",
        {"modelgif": mine},
        calibration_of,
        independents,
        0.05,
        "capped-sum",
        one_method="fused",
        score="calibrated",
    )
    assert fused.score != own.score  # clipped at 0 and read against the independents' fused values
    # with two methods fused, "own" changes nothing
    two = {"modelgif": mine, "cka": mine}
    assert combined_evidence("s", two, calibration_of, independents, 0.05, one_method="own") == combined_evidence(
        "s", two, calibration_of, independents, 0.05
    )


# --- roles ------------------------------------------------------------------------------------------------------


def test_default_roles_follow_the_lineage(lineage):
    roles = audit_roles(Zoo.open(lineage[0]), "source")
    assert roles.independents == INDEPENDENTS  # 'parity' is independent but of another task
    assert set(roles.suspects) == {"ft1", "ft2", "transfer", "parity"}
    assert roles.leave_one_out == ()


@pytest.mark.parametrize(
    ("suspects", "independents", "expected"),
    [
        (None, ["ind0"], "at least 2 independent"),
        (["source", "ft1"], None, "the source 'source' is also named as a suspect"),
        (None, ["source", "ind0", "ind1"], "the source 'source' is also named as an independent"),
        (["ft1", "ft1"], None, "names ft1 twice"),
        (["ind0"], ["ind0", "ind1"], "leave-one-out it leaves 1"),
        ([], None, "no suspect"),
    ],
)
def test_bad_roles_are_one_line(lineage, suspects, independents, expected):
    with pytest.raises(AuditError, match=expected) as raised:
        audit_roles(Zoo.open(lineage[0]), "source", suspects, independents)
    assert "\n" not in str(raised.value)


def test_unknown_ids_name_the_zoo_models(lineage):
    zoo = Zoo.open(lineage[0])
    for call in (
        lambda: audit_roles(zoo, "nobody"),
        lambda: audit_roles(zoo, "source", ["nobody"]),
        lambda: audit_roles(zoo, "source", None, ["ind0", "nobody"]),
    ):
        with pytest.raises(ManifestError, match="no model 'nobody'"):
            call()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"alpha": 1.5}, "between 0 and 1"),
        ({"methods": ["nope"]}, "unknown distance method"),
    ],
)
def test_bad_options_are_refused_before_any_model_runs(lineage, kwargs, expected):
    with pytest.raises(GifvizError, match=expected):
        audit(Zoo.open(lineage[0]), "source", **kwargs)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"fusion": "x"}, "unknown fusion 'x'; choose one of: stouffer, "),
        ({"calibration": "raw"}, "unknown calibration 'raw'; choose one of: same-arch, relative, absolute"),
        ({"one_method": "twice"}, "unknown one-method reading 'twice'; choose one of: fused, own"),
        ({"rate_spread": "wide"}, "unknown rate spread 'wide'; choose one of: value, sampling"),
        ({"null_centre": "median"}, "unknown null centre 'median'; choose one of: mean, bounded"),
        ({"combined_score": "raw"}, "unknown combined score 'raw'; choose one of: calibrated, fused"),
    ],
)
def test_bad_reading_settings_are_one_line_when_made(settings, expected):
    """Settings are checked where they are made (before an audit has any model to run) and where they are changed."""
    with pytest.raises(AuditError, match=re.escape(expected)):
        ReadingSettings(**settings)
    with pytest.raises(AuditError, match=re.escape(expected)):
        ReadingSettings().changed(**settings)
    with pytest.raises(TypeError, match="unknown reading setting colour"):
        ReadingSettings().changed(colour="red")
    assert ReadingSettings().changed(fusion="best") == ReadingSettings(fusion="best")


# --- the audit on a zoo of known lineage ----------------------------------------------------------------------------


def test_fine_tuned_copies_are_derived_and_independents_are_not(audited):
    for suspect in ("ft1", "ft2"):
        assert audited.row(suspect, "modelgif").verdict == "derived"
        assert audited.row(suspect).verdict == "derived"
        assert audited.row(suspect).p_value == pytest.approx(1 / (len(INDEPENDENTS) + 1))
    for suspect in ("ind0", "ind1"):
        assert audited.row(suspect).verdict != "derived"
        assert audited.row(suspect).score < audited.row("ft1").score


def by_hand(audited, method: str, model: str, against: list[str], calibration: str) -> float:
    """The value a calibration reads, computed from the evidence's distances with the rule's definition."""
    distances = audited.evidence.distances[method]
    if method in SELF_CALIBRATED_METHODS:  # read raw under either rule, weighed by the independents in use
        follows = audited.evidence.follows[method]
        return weighted_distance(follows, model, against)[0] if math.isfinite(distances[model]) else math.nan
    if calibration == "absolute" or method in WEIGHT_METHODS:  # weights: raw under every rule
        return distances[model]
    to_anchors = audited.evidence.to_anchors[method]
    anchors = [to_anchors[model][i] for i in against if i != model and math.isfinite(to_anchors[model][i])]
    return distances[model] - sum(anchors) / len(anchors) if anchors else math.nan


def calibrated_by_hand(audited, method: str, model: str, against: list[str], calibration: str):
    """``model`` against ``against``, each independent read against the others, the spread floored on the raw
    distances' scale for the relative rule, and at a proportion's sampling error for a method whose distance is a
    share of its samples (round nine's default); under the relative rules the centre is at most 0 (round ten's
    default)."""
    raw = audited.evidence.distances[method]
    finite = [raw[i] for i in INDEPENDENTS if math.isfinite(raw[i])]
    mean_raw = sum(finite) / len(finite) if finite else math.nan
    raw_rule = calibration == "absolute" or method in (*SELF_CALIBRATED_METHODS, *WEIGHT_METHODS)
    floor = None if raw_rule else mean_raw
    is_rate = method in METHODS and METHODS[method].share_of_samples
    min_spread = sampling_error(mean_raw, audited.evidence.samples[method]) if is_rate else 0.0
    if not math.isfinite(raw[model]):
        return None
    value = by_hand(audited, method, model, against, calibration)
    others = [by_hand(audited, method, j, [i for i in against if i != j], calibration) for j in against]
    return calibrate(value, others, audited.alpha, floor, min_spread, None if floor is None else 0.0)


def test_a_suspect_that_is_also_independent_is_scored_leave_one_out(audited):
    others = [i for i in INDEPENDENTS if i != "ind0"]
    distances = audited.evidence.distances["modelgif"]
    expected = calibrated_by_hand(audited, "modelgif", "ind0", others, "relative")
    row = audited.row("ind0", "modelgif")
    # the default same-arch rule reads as the relative one here: every independent has the source's architecture
    assert audited.calibration == SAME_ARCH and set(INDEPENDENTS) <= audited.evidence.same_architecture
    assert row.distance == distances["ind0"]
    assert row.independents == len(others) and "leave-one-out" in row.note
    assert (row.p_value, row.score) == pytest.approx((expected.p_value, expected.score))
    # the absolute rule reads the raw distances, against the other independents' from the source
    absolute = audited.reread(calibration="absolute")
    expected = calibrate(distances["ind0"], [distances[i] for i in others], audited.alpha)
    assert (absolute.row("ind0", "modelgif").p_value, absolute.row("ind0", "modelgif").score) == pytest.approx(
        (expected.p_value, expected.score)
    )
    assert absolute.provenance["config"]["calibration"] == "absolute"
    # the page's figure shows what each verdict was read on: here, each model against the independents but itself
    assert audited.statistics("modelgif")["ind0"] == pytest.approx(
        by_hand(audited, "modelgif", "ind0", others, "relative")
    )
    assert audited.statistics("modelgif")["ft1"] == pytest.approx(
        by_hand(audited, "modelgif", "ft1", list(INDEPENDENTS), "relative")
    )
    assert absolute.statistics("modelgif")["ft1"] == distances["ft1"]
    # against all five (itself included at distance d) it would count itself as "at least as close"
    assert (
        calibrate(distances["ind0"], [distances[i] for i in INDEPENDENTS], 0.05).p_value
        >= absolute.row("ind0", "modelgif").p_value
    )


def test_the_self_check_reads_every_independent_as_a_suspect_leave_one_out(audited):
    check = audited.self_check()
    assert check.independents == INDEPENDENTS and check.alpha == audited.alpha
    assert [(r.suspect, r.method) for r in check.rows] == [
        (i, m) for i in INDEPENDENTS for m in (*audited.methods, COMBINED)
    ]
    row = {(r.suspect, r.method): r.calibration for r in check.rows}
    # an independent that is also a suspect reads the same in the audit and in its check
    for method in (*audited.methods, COMBINED):
        assert row[("ind0", method)] == audited.row("ind0", method)
    # one that is not, as the rule reads it: against the other four, each read against the rest
    others = [i for i in INDEPENDENTS if i != "ind3"]
    expected = calibrated_by_hand(audited, "modelgif", "ind3", others, "relative")
    got = row[("ind3", "modelgif")]
    assert got.independents == 4 and "leave-one-out" in got.note
    assert (got.p_value, got.score) == pytest.approx((expected.p_value, expected.score))
    record = check.record()
    assert record["read"] == check.readable() == len(INDEPENDENTS)  # five independents: each read against four
    assert record["combined"]["derived"] == [i for i in INDEPENDENTS if row[(i, COMBINED)].verdict == "derived"]
    assert list(check.frame()["independent"]) == [i for i in INDEPENDENTS for _ in (*audited.methods, COMBINED)]


def _checked(combined: dict[str, str], alone: dict[str, str] | None = None, alpha: float = 0.05) -> SelfCheck:
    """A check whose combined rows give each independent the verdict named, and whose modeldiff rows give it the
    verdict of ``alone`` (default: the same)."""
    alone = alone or combined
    verdicts = {"modeldiff": alone, COMBINED: combined}
    rows = tuple(
        AuditRow(i, method, Calibration(0.5, 1.0, 0.5, 0.5, len(combined) - 1, verdicts[method][i]))
        for i in combined
        for method in ("modeldiff", COMBINED)
    )
    return SelfCheck(rows, tuple(combined), ("modeldiff",), alpha)


def test_the_self_check_counts_against_the_rate_and_says_what_to_do():
    calm = _checked(dict.fromkeys("abcd", "independent")).summary()
    assert "combined calls 0 of 4 derived; about 0.2 expected at this rate." in calm
    assert "A suspect like" not in calm and "Each method alone" not in calm and "name more" not in calm
    unsure = _checked({"a": "independent", "b": "independent", "c": "inconclusive", "d": "n/a"}).summary()
    assert (
        "combined calls 0 of 3 derived and 1 inconclusive (c); about 0.15 expected at this rate; it could not read "
        "d (n/a)." in unsure
    )
    # one of four happens one time in five at this rate (1 - 0.95^4 = 0.19): a caution about suspects like it, no alarm
    one = _checked({"a": "derived", "b": "independent", "c": "inconclusive", "d": "independent"})
    assert one.chance() == pytest.approx(1 - 0.95**4)
    text = one.summary()
    assert "combined calls 1 of 4 derived (a) and 1 inconclusive (c)" in text
    assert "modeldiff calls 1 derived (a)" in text
    assert "A suspect like a (its architecture, its training data)" in text and "differ among themselves" not in text
    # two of four happen about 1.4% of the time at 5%: the independents differ more than their spread says
    many = _checked({"a": "derived", "b": "derived", "c": "independent", "d": "independent"}).summary()
    assert "2 of 4 derived (a, b)" in many and "(their architecture, their training data)" in many
    assert "2 or more of 4 happen at this rate with a probability of about 0.014" in many
    assert "differ among themselves more than their spread says" in many
    # twenty independents at rate 0.1 make two derived ones likely (61%): no alarm
    twenty = {f"m{k}": "derived" if k < 2 else "independent" for k in range(20)}
    assert "differ among themselves" not in _checked(twenty, alpha=0.1).summary()
    # combined reads none of two (it needs four), yet what each method alone says is still reported
    none = _checked({"a": "n/a", "b": "n/a"}, {"a": "derived", "b": "independent"}).summary()
    assert "combined could read none of the 2." in none and "modeldiff calls 1 derived (a)" in none
    assert "only with 4 independents or more; name more" in none and math.isnan(_checked({"a": "n/a"}).chance())


def test_combined_leaves_out_a_method_that_cannot_compare(audited):
    assert audited.row("transfer", "disagreement").verdict == "n/a"  # 5 classes against the source's 10
    # another task's head: combined reads the field and the first layer (the cross-task rule's methods), fused
    shipped = audited.row("transfer")
    assert "combined reads modelgif, first-layer only" in shipped.note and math.isfinite(shipped.distance)
    # without the first layer (the audit before round sixteen), it reads the field alone, as the field's own
    # reading, says so, and so do the other fusions and rules
    audited = audited.with_methods([m for m in audited.methods if m != "first-layer"])
    combined = audited.row("transfer")
    field = audited.row("transfer", "modelgif")
    assert math.isnan(combined.distance) and (combined.score, combined.verdict) == (field.score, field.verdict)
    assert "other output classes than 'source': combined reads modelgif only" in combined.note
    assert "modelgif's own reading (one method" in combined.note and "capped-sum of" not in combined.note
    for other in (audited.reread(fusion="best"), audited.reread(calibration="absolute")):
        assert "combined reads modelgif only" in other.row("transfer").note
    # read the way it was before round eight, the field's score is calibrated a second time as a fused statistic
    fused = audited.reread(one_method="fused").row("transfer")
    assert fused.distance == pytest.approx(FUSIONS[DEFAULT_FUSION]({"modelgif": field}))
    assert f"{DEFAULT_FUSION} of modelgif" in fused.note and f"{DEFAULT_FUSION} of modelgif," not in fused.note
    with pytest.raises(AuditError, match="unknown one-method reading"):
        audited.reread(one_method="twice")
    with pytest.raises(ConfigError, match="unknown one-method reading"):
        combined_evidence("transfer", {"modelgif": field}, lambda *a: field, ["a"], 0.05, one_method="twice")
    # the lineage zoo's TorchScript forward is no chain of submodule calls (it flattens), yet CKA reads its
    # penultimate layer: every method is fused, and nothing is left out
    note = audited.row("ft1").note
    assert "left out" not in note and "other output classes" not in note
    assert math.isfinite(audited.row("ft1", "cka").distance)


def test_methods_left_out_for_one_reason_share_it_and_a_suspect_of_another_task_without_the_field_fuses_the_rest(
    lineage,
):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    methods = ("modeldiff", "sac-m", "disagreement", "dark-knowledge", "off-task")  # no ModelGiF
    result = audit(zoo, "source", ["transfer"], None, methods, load_reference_folder(refs, zoo.space, 8), FIELD)
    combined = result.row("transfer")
    # the three that compare outputs class by class are left out (dark knowledge with a reason of its own), and the
    # two that can compare it are fused, as before
    assert "left out: disagreement, off-task (compares outputs class by class" in combined.note
    assert combined.note.count("other output classes than 'source')") == 1
    used = {m: result.row("transfer", m) for m in ("modeldiff", "sac-m")}
    assert combined.distance == pytest.approx(FUSIONS[DEFAULT_FUSION](used))


@pytest.mark.parametrize("calibration", ["relative", "absolute"])
@pytest.mark.parametrize("suspect", ["ft1", "ind0", "transfer"])
def test_combined_is_calibrated_against_the_independents_left_out_in_turn(audited, suspect, calibration):
    """By hand: each independent fused from its own calibrations against the others (the suspect, when it is an
    independent too, left out of everything), and the suspect's fused statistic read against those values."""
    # (the fused reading of one method: the transfer model's field, read as a fused statistic as before round eight)
    result = audited.reread(calibration=calibration).reread(one_method="fused")
    independents = [i for i in INDEPENDENTS if i != suspect]
    fuse = FUSIONS[DEFAULT_FUSION]
    used = [m for m in result.methods if result.row(suspect, m).usable]
    if suspect == "transfer":  # another task's head: the cross-task rule reads the field alone, for everyone
        used = [m for m in used if m in CROSS_TASK_METHODS]
    held_out = []
    for j in independents:
        others = [i for i in independents if i != j]
        calibrations = {m: calibrated_by_hand(result, m, j, others, calibration) for m in used}
        usable = {m: c for m, c in calibrations.items() if c is not None and c.verdict != "n/a"}
        held_out.append(fuse(usable))
    statistic = fuse({m: calibrated_by_hand(result, m, suspect, independents, calibration) for m in used})
    floor = FUSED_SPREAD_FLOORS[DEFAULT_FUSION]
    expected = calibrate(-statistic, [-value for value in held_out], result.alpha, min_spread=floor)
    row = result.row(suspect)
    assert row.distance == pytest.approx(statistic) and row.independents == len(independents)
    # the score is the fused statistic (round twenty-six); read against the null, as the p-value and verdict are
    assert (row.score, row.p_value, row.verdict) == (pytest.approx(statistic), expected.p_value, expected.verdict)
    assert result.reread(combined_score="calibrated").row(suspect).score == pytest.approx(expected.score)


def test_other_fusions_recombine_without_running_a_model(audited):
    for name in FUSIONS:
        other = audited.reread(fusion=name)
        assert other.fusion == name and other.provenance["fusion"]["name"] == name
        # a fusion with tunable weights says which it read (a later round changes them); no other fusion has any
        weights = {
            "fitted-weights": dict(FITTED_WEIGHTS),
            "by-attack-off-task-half": {g: dict(w) for g, w in ATTACK_GROUP_WEIGHTS.items()},
        }.get(name)
        assert other.provenance["fusion"]["weights"] == weights
        assert other.row("ft1").verdict == "derived"
        assert [r.calibration for r in other.rows if r.method != "combined"] == [
            r.calibration for r in audited.rows if r.method != "combined"
        ]


def test_fewer_than_three_independents_leave_combined_not_available(audited):
    roles = audit_roles(Zoo.open(audited.provenance["manifest"]), "source", ["ft1"], ["ind0", "ind1"])
    rows = assess(audited.evidence, roles, audited.methods, 0.05)
    (combined,) = [r.calibration for r in rows if r.method == "combined"]
    assert combined.verdict == "n/a" and "needs 3" in combined.note


def test_frame_has_the_csv_columns_and_a_combined_row_per_suspect(audited):
    frame = audited.frame()
    assert tuple(frame.columns) == CSV_COLUMNS
    assert list(frame.columns[:6]) == ["suspect", "method", "distance", "score", "p_value", "verdict"]
    assert sorted(frame.loc[frame["method"] == "combined", "suspect"]) == sorted(audited.roles.suspects)
    assert set(frame["verdict"]) <= {"derived", "independent", "inconclusive", "n/a"}


# --- unlearning -------------------------------------------------------------------------------------------------


def test_unlearning_with_retrained_references(lineage):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space)
    for rule in UNLEARNING_RULES:
        result = verify_unlearning(
            zoo,
            "source",
            ["ft1", "ind0"],
            ["ind0", "ind1", "ind2"],
            references=references,
            field_config=FIELD,
            rule=rule,
        )
        assert result.verdict("ft1") == "close to the original"
        row = next(r for r in result.rows if r.candidate == "ind0")
        assert "leave-one-out" in row.note
        others = [result.retrained_distances[r] for r in ("ind1", "ind2")]
        expected = retrained_threshold(others, rule, DEFAULT_ALPHA)[0]
        assert row.threshold == pytest.approx(expected) and (rule == CLOSEST) == (expected == min(others))
        assert row.verdict == ("like retraining" if row.distance >= row.threshold else "close to the original")
        assert result.provenance["config"]["rule"] == rule


def test_unlearning_without_retrained_references_is_inconclusive(lineage):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    result = verify_unlearning(
        zoo, "source", ["ft1", "ind0"], references=load_reference_folder(refs, zoo.space), field_config=FIELD
    )
    assert {r.verdict for r in result.rows} == {"inconclusive"}
    assert all(math.isfinite(r.distance) for r in result.rows)
    assert "no scale" in result.explanation and "--retrained" in result.rows[0].note


def test_a_lone_retrained_candidate_is_inconclusive(lineage):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    result = verify_unlearning(
        zoo, "source", ["ind0"], ["ind0"], references=load_reference_folder(refs, zoo.space), field_config=FIELD
    )
    assert result.verdict("ind0") == "inconclusive" and "only retrained reference" in result.rows[0].note


@pytest.mark.parametrize(
    ("candidates", "retrained", "expected"),
    [
        (["source"], None, "also named as a candidate"),
        (["ft1"], ["source"], "also named as retrained"),
        (["ft1", "ft1"], None, "twice"),
        ([], None, "no candidate"),
    ],
)
def test_bad_unlearning_roles_are_one_line(lineage, candidates, retrained, expected):
    with pytest.raises(AuditError, match=expected):
        verify_unlearning(Zoo.open(lineage[0]), "source", candidates, retrained)


# --- command line -----------------------------------------------------------------------------------------------


def cli(manifest: Path, refs: Path, *args: str) -> int:
    return main([*args[:1], str(manifest), *args[1:], "--refs", str(refs), "--steps", "3", "--no-cache", "--quiet"])


def audited_methods(manifest: Path, refs: Path, out: Path, suspects: str, methods: str) -> set[str]:
    """The methods of the ``audit.csv`` that ``gifviz audit --methods methods`` writes to ``out`` (it must succeed)."""
    args = ("audit", "--source", "source", "--suspects", suspects, "--methods", methods, "--out", str(out))
    assert cli(manifest, refs, *args) == 0
    with open(out / "audit.csv", newline="") as handle:
        return {row["method"] for row in csv.DictReader(handle)}


def test_audit_command_end_to_end(lineage, tmp_path, capsys):
    manifest, refs = lineage
    out = tmp_path / "report"
    assert (
        cli(manifest, refs, "audit", "--source", "source", "--suspects", "ft1,ft2,transfer,ind0", "--out", str(out))
        == 0
    )
    with open(out / "audit.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {r["suspect"] for r in rows if r["method"] == "combined"} == {"ft1", "ft2", "transfer", "ind0"}
    assert next(r for r in rows if r["suspect"] == "ft1" and r["method"] == "combined")["verdict"] == "derived"
    provenance = json.loads((out / "audit.json").read_text())
    assert provenance["config"]["independents"] == list(INDEPENDENTS)
    assert provenance["config"]["leave_one_out"] == ["ind0"]
    assert provenance["fusion"]["name"] == DEFAULT_FUSION and provenance["references"]["count"] == 8
    assert provenance["config"]["calibration"] == SAME_ARCH
    assert provenance["config"]["rate_spread"] == DEFAULT_RATE_SPREAD
    assert provenance["config"]["null_centre"] == DEFAULT_NULL_CENTRE
    assert provenance["config"]["cross_task_null"] == DEFAULT_CROSS_TASK_NULL
    assert provenance["config"]["combined_score"] == DEFAULT_COMBINED_SCORE == "fused"
    # the combined score is the fused statistic the JSON keeps; a suspect read by one method (the transfer model, by
    # the cross-task rule) keeps that method's own score, and the JSON has no statistic for it
    checked = []
    for row in (r for r in rows if r["method"] == "combined"):
        statistic = provenance["fused_statistics"][row["suspect"]]
        if statistic is None or math.isnan(statistic):
            own = next(r for r in rows if r["suspect"] == row["suspect"] and r["method"] == "modelgif")
            assert row["score"] == own["score"]
        else:
            assert float(row["score"]) == pytest.approx(statistic)
        checked.append(row["suspect"])
    assert len(checked) == 4
    assert set(provenance["model_digests"]) >= {"source", "ft1", *INDEPENDENTS}
    printed = capsys.readouterr().out
    assert "combined" in printed and "derived" in printed
    # a combined row that fused every method and has nothing more to say is summed up once, not repeated per suspect
    # the note most combined rows share is printed once; only the rows that say more follow
    lines = printed.splitlines()
    plain = f"combined rows: {DEFAULT_FUSION} of {', '.join(DEFAULT_METHODS)} (unless a line below says otherwise)"
    assert plain in lines
    assert not any(line.startswith(("ft1: ", "ft2: ")) for line in lines)
    assert any(line.startswith("transfer: ") and "combined reads modelgif, first-layer only" in line for line in lines)
    assert any(line.startswith("ind0: ") and "coarse" in line for line in lines)  # leave-one-out: 4 independents
    # then the answer: derived and inconclusive suspects named, the rest counted
    combined = {r["suspect"]: r["verdict"] for r in rows if r["method"] == "combined"}
    expected = "; ".join(
        f"{v} {len(ids)}" + (f" ({', '.join(ids)})" if ids and v in ("derived", "inconclusive") else "")
        for v in VERDICTS
        for ids in [[s for s, verdict in combined.items() if verdict == v]]
    )
    assert f"combined verdicts: {expected}" in lines
    assert " ".join(VERDICT_MEANING.split()) in " ".join(printed.split())  # what each verdict claims, wrapped
    # the audit's own false-positive check: printed, kept in the JSON, every independent's rows in their own CSV
    check = provenance["independents_check"]
    assert check["read"] == len(INDEPENDENTS) and set(check["derived_by_method_alone"]) == set(DEFAULT_METHODS)
    assert "Independents read as suspects, each against the other independents" in " ".join(printed.split())
    with open(out / "independents.csv", newline="") as handle:
        checked = list(csv.DictReader(handle))
    assert tuple(checked[0]) == ("independent", *CSV_COLUMNS[1:])
    assert {(r["independent"], r["method"]) for r in checked} == {
        (i, m) for i in INDEPENDENTS for m in (*DEFAULT_METHODS, "combined")
    }
    for verdict in ("derived", "inconclusive"):  # the JSON names whom the CSV's combined rows give each verdict
        named = [r["independent"] for r in checked if r["method"] == "combined" and r["verdict"] == verdict]
        assert check["combined"][verdict] == named
    for method in DEFAULT_METHODS:
        named = [r["independent"] for r in checked if r["method"] == method and r["verdict"] == "derived"]
        assert check["derived_by_method_alone"][method] == named


def test_a_reread_audit_keeps_its_json_in_step_with_its_rows(audited):
    # audit.json's fused statistics follow the reading, so a reread never contradicts its own rows
    for other in (audited.reread(fusion="stouffer"), audited.with_methods(["modelgif", "modeldiff"])):
        kept = other.provenance["fused_statistics"]
        for suspect in other.roles.suspects:
            distance = other.row(suspect).distance
            assert kept[suspect] == pytest.approx(distance, nan_ok=True)
            if not math.isnan(distance):
                assert other.row(suspect).score == pytest.approx(distance)
    assert audited.reread(fusion="stouffer").provenance["fused_statistics"] != audited.provenance["fused_statistics"]


def test_source_crops_left_the_default_methods_and_can_still_be_named():
    # round twenty-six (benchmarks/results/round-twenty-six/DECLARED.md)
    assert SOURCE_CROPS not in DEFAULT_METHODS and SOURCE_CROPS in AUDIT_METHODS


def test_off_task_kappa_is_off_task_disagreements_twin_and_naming_both_warns(lineage, tmp_path, capsys):
    # round twenty-eight (benchmarks/results/round-twenty-eight/DECLARED.md): a method to name, not a default
    assert "off-task-kappa" in AUDIT_METHODS and "off-task-kappa" not in DEFAULT_METHODS
    manifest, refs = lineage
    for methods, warned in (("off-task-kappa", False), ("off-task,off-task-kappa", True)):
        out = tmp_path / methods.replace(",", "-")
        args = ("audit", "--source", "source", "--suspects", "ft1", "--methods", methods, "--out", str(out))
        assert cli(manifest, refs, *args) == 0
        assert ("fuses that evidence twice" in capsys.readouterr().err) == warned
        with open(out / "audit.csv", newline="") as handle:
            assert {r["method"] for r in csv.DictReader(handle)} == {*methods.split(","), "combined"}


def test_naming_dark_knowledge_beside_its_blended_twin_warns_once_per_pair():
    # round thirty-seven (benchmarks/results/round-thirty-seven/DECLARED.md): a method to name, not a default
    assert "dark-knowledge-mix" in AUDIT_METHODS and "dark-knowledge-mix" not in DEFAULT_METHODS
    assert twin_methods_warning(["modelgif", "dark-knowledge-mix"]) is None
    assert twin_methods_warning(["off-task", "dark-knowledge"]) is None  # one of each pair is no twin
    warning = twin_methods_warning(["dark-knowledge", "dark-knowledge-mix"])
    assert warning.startswith("dark-knowledge and dark-knowledge-mix read ") and "fuses that evidence twice" in warning
    both = twin_methods_warning(["off-task", "off-task-kappa", "dark-knowledge", "dark-knowledge-mix"])
    assert both.count(" read ") == 2 and both.count("fuses that evidence twice") == 1


def test_the_command_line_chooses_the_combined_score(lineage, tmp_path, capsys):
    manifest, refs = lineage
    scores = {}
    for reading in ("fused", "calibrated"):
        out = tmp_path / reading
        args = ("audit", "--source", "source", "--suspects", "ft1", "--combined-score", reading, "--out", str(out))
        assert cli(manifest, refs, *args) == 0
        assert json.loads((out / "audit.json").read_text())["config"]["combined_score"] == reading
        with open(out / "audit.csv", newline="") as handle:
            scores[reading] = next(r for r in csv.DictReader(handle) if r["method"] == "combined")
    # only the score differs: the verdict and the p-value are read against the same null
    assert scores["fused"]["score"] != scores["calibrated"]["score"]
    assert [scores["fused"][k] for k in ("p_value", "p_tail", "verdict")] == [
        scores["calibrated"][k] for k in ("p_value", "p_tail", "verdict")
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "zoo.toml", "--source", "s", "--out", "o", "--combined-score", "raw"])
    assert exit_info.value.code == 2 and "--combined-score" in capsys.readouterr().err


def test_verify_unlearning_command_end_to_end(lineage, tmp_path, capsys):
    manifest, refs = lineage
    out = tmp_path / "check"
    args = ["verify-unlearning", "--original", "source", "--candidates", "ft1", "--retrained", "ind1,ind2"]
    assert cli(manifest, refs, *args, "--out", str(out)) == 0
    with open(out / "unlearning.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["candidate", "distance", "verdict"]
    assert rows[0]["verdict"] == "close to the original"
    sidecar = json.loads((out / "unlearning.json").read_text())
    assert set(sidecar["retrained_distances"]) == {"ind1", "ind2"} and sidecar["config"]["method"] == "modelgif"
    assert "close to the original" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["audit", "--source", "source", "--independent", "ind0"], "at least 2 independent"),
        (["audit", "--source", "source", "--suspects", "source"], "also named as a suspect"),
        (["audit", "--source", "nobody"], "no model 'nobody'"),
        (["audit", "--source", "source", "--methods", "modelgif,nope"], "unknown distance method"),
        (["audit", "--source", "source", "--methods", "modelgif,sac-m,modelgif"], "method named twice: modelgif"),
        (["verify-unlearning", "--original", "source", "--candidates", "source"], "also named as a candidate"),
        (["verify-unlearning", "--original", "source", "--candidates", "nobody"], "no model 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(lineage, tmp_path, capsys, args, expected):
    manifest, refs = lineage
    assert cli(manifest, refs, *args, "--out", str(tmp_path / "out")) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gifviz: error: ") and expected in error and "\n" not in error
    assert not (tmp_path / "out").exists()


def test_audit_refuses_an_out_that_is_a_file(lineage, tmp_path, capsys):
    manifest, refs = lineage
    assert cli(manifest, refs, "audit", "--source", "source", "--out", str(manifest)) == 2
    assert "is a file" in capsys.readouterr().err


def test_combined_names_the_methods_that_alone_call_a_suspect_derived():
    from gifviz.audit.calibration import Calibration
    from gifviz.audit.run_audit import _with_dissent

    derived = Calibration(0.1, 4.0, 0.1, 0.01, 9, "derived")
    unsure = Calibration(0.5, 0.5, 0.4, 0.3, 9, "independent")
    combined = Calibration(1.0, 1.0, 0.3, 0.2, 9, "independent", "best of a, b, c")
    noted = _with_dissent(combined, {"a": derived, "b": unsure, "c": unsure}, 0.05)
    assert noted.note.startswith("a alone calls it derived") and "up to 15% of independent models" in noted.note
    two = _with_dissent(combined, {"a": derived, "b": derived, "c": unsure}, 0.05)
    assert two.note.startswith("a, b alone each call it derived")
    # the only method fused (another task's suspect): its own reading against the fused one, no count of methods
    alone = _with_dissent(combined, {"a": derived}, 0.05)
    assert alone.note.startswith("a calls it derived on its own calibration") and "methods" not in alone.note
    # a method that cannot compare the suspect does not count among the methods that could have dissented
    na = Calibration(float("nan"), float("nan"), float("nan"), float("nan"), 0, "n/a")
    assert "with 2 methods" in _with_dissent(combined, {"a": derived, "b": unsure, "c": na}, 0.05).note
    assert noted.note.endswith("best of a, b, c") and noted.verdict == "independent"
    agreeing = Calibration(1.0, 3.0, 0.1, 0.01, 9, "derived", "best of a, b, c")
    assert _with_dissent(agreeing, {"a": derived, "b": unsure, "c": unsure}, 0.05) == agreeing
    assert _with_dissent(combined, {"b": unsure, "c": unsure}, 0.05) == combined


def test_other_output_classes_come_from_the_manifest_before_any_model_runs():
    from types import SimpleNamespace

    from gifviz.audit.evidence import _other_classes

    specs = {
        "source": SimpleNamespace(classes=("a", "b", "c"), num_classes=3),
        "same": SimpleNamespace(classes=("a", "b", "c"), num_classes=None),
        "renamed": SimpleNamespace(classes=("x", "y", "z"), num_classes=None),
        "fewer": SimpleNamespace(classes=None, num_classes=2),  # no names: the counts decide
    }

    def load(model_id):
        raise AssertionError(f"{model_id} was loaded although the manifest says its classes")

    zoo = SimpleNamespace(spec=specs.__getitem__, load=load)
    references = SimpleNamespace(images=torch.zeros(1, 1, 8, 8))
    assert _other_classes(zoo, "source", list(specs), references) == {"renamed", "fewer"}


def _at(z: float) -> Calibration:
    """A method's calibration whose Student-t tail is the normal tail of ``z`` (a fusion reads ``z`` back)."""
    return Calibration(0.0, z, 0.5, float(stats.norm.sf(z)), 8, "independent")


def test_by_attack_lets_the_methods_aimed_at_one_thief_speak_for_it():
    """Round thirteen's candidate, by hand: the largest of Stouffer's z over every method and over each group of
    gifviz.audit.names.ATTACK_EVIDENCE that can compare the model."""
    others = {m: _at(0.0) for m in ("modelgif", "modeldiff", "sac-m", "disagreement", "cka")}
    fuse, plain = FUSIONS["by-attack"], FUSIONS["stouffer"]
    prob = {**others, "dark-knowledge": _at(3.0), "off-task": _at(0.0), "source-flips": _at(0.0)}
    assert plain(prob) == pytest.approx(3.0 / math.sqrt(8)) and fuse(prob) == pytest.approx(3.0)
    label = {**others, "dark-knowledge": _at(0.0), "off-task": _at(2.0), "source-flips": _at(2.0)}
    assert fuse(label) == pytest.approx(4.0 / math.sqrt(2))
    tuned = {m: _at(4.0) for m in prob}  # seen by every method: every method together is the largest
    assert fuse(tuned) == pytest.approx(plain(tuned)) == pytest.approx(4.0 * math.sqrt(8))
    # no aimed method among those that can compare it (an audit of --methods without them): stouffer
    assert fuse(others) == pytest.approx(plain(others))
    assert fuse({"modelgif": _at(1.0), "off-task": _at(2.5)}) == pytest.approx(2.5)  # a group with one usable method
    # dark-knowledge-mix named in dark knowledge's place speaks for probability thieves as dark knowledge did (round
    # thirty-seven's candidate audit): the same hypothesis, not one more method in the first
    mixed = {**others, "dark-knowledge-mix": _at(3.0), "off-task": _at(0.0), "source-flips": _at(0.0)}
    assert fuse(mixed) == pytest.approx(fuse(prob)) == pytest.approx(3.0)


def test_purpose_weighted_and_per_kind_weigh_the_aimed_methods_in_one_sum():
    """Round fourteen's candidates, by hand: Stouffer's z with the methods aimed at one kind of thief weighed 2 (1 plus
    the one group of gifviz.audit.names.ATTACK_EVIDENCE that holds each), and Stouffer's z of the kinds' own z."""
    others = {m: _at(0.0) for m in ("modelgif", "modeldiff", "sac-m", "disagreement", "cka")}
    weighted, kinds, plain = FUSIONS["purpose-weighted"], FUSIONS["per-kind"], FUSIONS["stouffer"]
    prob = {**others, "dark-knowledge": _at(3.0), "off-task": _at(0.0), "source-flips": _at(0.0)}
    assert weighted(prob) == pytest.approx(2 * 3.0 / math.sqrt(5 + 3 * 4))
    assert kinds(prob) == pytest.approx(3.0 / math.sqrt(3))  # three kinds: dark knowledge alone, off-task, the rest
    label = {**others, "dark-knowledge": _at(0.0), "off-task": _at(2.0), "source-flips": _at(2.0)}
    assert weighted(label) == pytest.approx(2 * 4.0 / math.sqrt(17))
    assert kinds(label) == pytest.approx((4.0 / math.sqrt(2)) / math.sqrt(3))
    # seen by the methods aimed at none: the rest's one vote (its own Stouffer's z)
    general = {
        **{m: _at(1.0) for m in others},
        "dark-knowledge": _at(0.0),
        "off-task": _at(0.0),
        "source-flips": _at(0.0),
    }
    assert kinds(general) == pytest.approx(math.sqrt(5) / math.sqrt(3))
    assert weighted(general) == pytest.approx(5.0 / math.sqrt(17))
    # a sum, not a maximum: a method aimed at a kind that sees nothing pulls the others down (by-attack ignores it)
    assert weighted({**prob, "off-task": _at(-2.0)}) < weighted(prob)
    # no aimed method among those that can compare it (an audit of --methods without them): stouffer
    assert weighted(others | {"cka": _at(2.0)}) == pytest.approx(plain(others | {"cka": _at(2.0)}))
    assert kinds(others | {"cka": _at(2.0)}) == pytest.approx(plain(others | {"cka": _at(2.0)}))
    # a label-only API: dark knowledge gives no distance, off-task and source flips (top-1 answers) still do
    label_only = {"modelgif": _at(1.0), "off-task": _at(2.0), "source-flips": _at(2.0)}
    assert weighted(label_only) == pytest.approx(9.0 / 3.0)
    assert kinds(label_only) == pytest.approx((1.0 + 4.0 / math.sqrt(2)) / math.sqrt(2))
    # only aimed methods: no vote for the methods aimed at none
    aimed_only = {"dark-knowledge": _at(3.0), "off-task": _at(1.0)}
    assert weighted(aimed_only) == pytest.approx(8.0 / math.sqrt(8))
    assert kinds(aimed_only) == pytest.approx(4.0 / math.sqrt(2))


def test_weighted_stouffer_keeps_a_unit_variance_and_weighs_unnamed_methods_one():
    """Round fifteen's fusion, by hand: ``sum w z / sqrt(sum w^2)`` over the usable methods; equal weights are
    Stouffer's z, and a method without a weight (ZEST, say) counts 1."""
    calibrations = {"modelgif": _at(1.0), "dark-knowledge": _at(3.0), "zest": _at(-1.0)}
    weights = {"modelgif": 0.5, "dark-knowledge": 2.0}
    assert weighted_stouffer(calibrations, weights) == pytest.approx((0.5 + 6.0 - 1.0) / math.sqrt(0.25 + 4 + 1))
    assert weighted_stouffer(calibrations, {}) == pytest.approx(FUSIONS["stouffer"](calibrations))
    # a weight scales its method's z and the norm together: one method alone reads its own z whatever its weight
    assert weighted_stouffer({"dark-knowledge": _at(2.5)}, weights) == pytest.approx(2.5)
    # the shipped table names only methods the audit has, each with a positive weight
    assert set(FITTED_WEIGHTS) <= set(AUDIT_METHODS) and all(w > 0 for w in FITTED_WEIGHTS.values())


def test_the_fused_null_is_what_combined_is_read_against(audited):
    """AuditResult.fused_null gives each member of a suspect's combined null with its own calibrations: fusing them and
    reading the suspect's fused statistic against them gives combined's row (a leave-one-out suspect too), and a
    suspect read by one method has none."""
    fuse = FUSIONS[DEFAULT_FUSION]
    for suspect in ("ft1", "ind0"):
        members = audited.fused_null(suspect)
        assert suspect not in members and set(members) <= set(audited.roles.independents)
        used = {m: audited.row(suspect, m) for m in audited.methods if audited.row(suspect, m).usable}
        assert all(set(c) <= set(used) for c in members.values())
        floor = FUSED_SPREAD_FLOORS[DEFAULT_FUSION]
        second = calibrate(-fuse(used), [-fuse(c) for c in members.values()], audited.alpha, min_spread=floor)
        assert audited.row(suspect).score == pytest.approx(fuse(used))  # the score: the statistic itself
        assert audited.row(suspect).p_tail == pytest.approx(second.p_tail)
        assert audited.reread(combined_score="calibrated").row(suspect).score == pytest.approx(second.score)
    # the cross-task rule's two methods: the transfer model's null members read by them only
    members = audited.fused_null("transfer")
    assert members and all(set(c) <= {"modelgif", "first-layer"} for c in members.values())
    # without the first layer (the audit before round sixteen): ModelGiF's own reading, no fused null
    audited = audited.with_methods([m for m in audited.methods if m not in WEIGHT_METHODS])
    assert audited.fused_null("transfer") == {}
    # read as fused, the transfer model's one method has a null, by the cross-task rule's reading (relative)
    fused = audited.reread(one_method="fused", combined_score="calibrated")
    members = fused.fused_null("transfer")
    assert members and all(set(c) == {"modelgif"} for c in members.values())
    null = [-fuse(c) for c in members.values()]
    second = calibrate(-fuse({"modelgif": fused.row("transfer", "modelgif")}), null, fused.alpha, min_spread=floor)
    assert fused.row("transfer").score == pytest.approx(second.score)


def test_by_attack_modeldiff_reads_each_aimed_group_with_modeldiff_beside_it():
    """Round forty-six's candidate, by hand: by-attack's hypotheses, and each group of
    gifviz.audit.names.ATTACK_EVIDENCE that can compare the model with ModelDiff beside it."""
    others = {m: _at(0.0) for m in ("modelgif", "sac-m", "disagreement", "cka")}
    fuse, shipped, plain = FUSIONS["by-attack-modeldiff"], FUSIONS["by-attack"], FUSIONS["stouffer"]
    weak_prob = {**others, "modeldiff": _at(2.0), "dark-knowledge": _at(2.0), "off-task": _at(0.0)}
    assert shipped(weak_prob) == pytest.approx(2.0) and fuse(weak_prob) == pytest.approx(4.0 / math.sqrt(2))
    weak_label = {**others, "modeldiff": _at(2.0), "dark-knowledge": _at(0.0), "off-task": _at(1.0)}
    assert fuse(weak_label) == pytest.approx(3.0 / math.sqrt(2))
    # ModelDiff seeing nothing adds a hypothesis no larger than the group alone: by-attack
    strong = {**others, "modeldiff": _at(0.0), "dark-knowledge": _at(3.0), "off-task": _at(0.0)}
    assert fuse(strong) == pytest.approx(shipped(strong)) == pytest.approx(3.0)
    # ModelDiff alone is no hypothesis: with no aimed method that can compare the model, stouffer
    unaimed = {**others, "modeldiff": _at(3.0)}
    assert fuse(unaimed) == pytest.approx(plain(unaimed)) == pytest.approx(3.0 / math.sqrt(5))
    # without ModelDiff (a label-only audit of --methods off-task,source-flips): by-attack
    label_only = {"off-task": _at(2.0), "source-flips": _at(1.0)}
    assert fuse(label_only) == pytest.approx(shipped(label_only))


def test_by_attack_off_task_half_weighs_off_task_half_in_the_label_only_hypothesis():
    """Round forty-eight's candidate, by hand: by-attack with the label-only group's Stouffer's z weighted, off-task
    at 0.5 and source flips at 1; every method and the probability group as shipped."""
    others = {m: _at(0.0) for m in ("modelgif", "modeldiff", "sac-m", "disagreement", "cka", "dark-knowledge")}
    fuse, shipped = FUSIONS["by-attack-off-task-half"], FUSIONS["by-attack"]
    # an innocent that agrees off-task only: (0.5 * 2 + 0) / sqrt(1.25), below by-attack's (2 + 0) / sqrt(2)
    off_task_only = {**others, "off-task": _at(2.0), "source-flips": _at(0.0)}
    assert shipped(off_task_only) == pytest.approx(2.0 / math.sqrt(2))
    assert fuse(off_task_only) == pytest.approx(1.0 / math.sqrt(1.25))
    # a thief that answers the source's flips: (0.5 * 1 + 2) / sqrt(1.25), above by-attack's 3 / sqrt(2)
    flips = {**others, "off-task": _at(1.0), "source-flips": _at(2.0)}
    assert fuse(flips) == pytest.approx(2.5 / math.sqrt(1.25)) and fuse(flips) > shipped(flips)
    # the probability group is unweighted: a probability thief reads as under by-attack
    probability = {**others, "dark-knowledge": _at(3.0), "off-task": _at(0.0), "source-flips": _at(0.0)}
    assert fuse(probability) == pytest.approx(shipped(probability)) == pytest.approx(3.0)
    # off-task alone in its group beside methods that see nothing: its own z, whatever its weight (every method
    # together reads 2 / sqrt(7))
    assert fuse({**others, "off-task": _at(2.0)}) == pytest.approx(2.0)
    # a method of the group not weighed (off-task-kappa) counts 1: (0.5 * 2 + 2) / sqrt(0.25 + 1)
    kappa = {**others, "off-task": _at(2.0), "off-task-kappa": _at(2.0)}
    assert fuse(kappa) == pytest.approx(3.0 / math.sqrt(1.25))
