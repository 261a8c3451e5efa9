"""The audit's relative calibration: the rule by hand, and the case it exists for (a suspect far from every model
but closest to its source), on distances written here (no model runs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gifviz.audit.evidence import Evidence
from gifviz.audit.names import VERDICTS
from gifviz.audit.reading import MethodReading
from gifviz.audit.roles import AuditError, AuditRoles
from gifviz.audit.run_audit import assess
from gifviz.audit.settings import ReadingSettings
from gifviz.cli import main


def relative_value(to_source: float, to_anchors: list[float], left_out: frozenset[str] = frozenset()) -> float:
    """A model's relative value as the audit reads it, with anchors ``a0, a1, ...`` at ``to_anchors``."""
    anchors = {f"a{k}": d for k, d in enumerate(to_anchors)}
    evidence = Evidence("source", {"m": {"y": to_source, **anchors}}, {"m": {}}, {"m": 1}, {"m": {"y": anchors}})
    return MethodReading(evidence, "m", list(anchors), ReadingSettings(calibration="relative")).value("y", left_out)


def test_relative_distance_by_hand():
    assert relative_value(0.4, [0.5, 0.7, 0.9]) == pytest.approx(0.4 - 0.7)
    # pairs the method cannot compare are left out; with none left there is nothing to set the source against
    assert relative_value(0.4, [0.5, math.nan, 0.9]) == pytest.approx(0.4 - 0.7)
    assert relative_value(0.4, [0.5, math.nan]) == pytest.approx(-0.1)
    assert math.isnan(relative_value(0.4, [math.nan]))
    assert math.isnan(relative_value(math.nan, [0.5, 0.7]))
    # independents left out of a row (a suspect that is also one, or one held out in turn) leave the mean too
    assert relative_value(0.4, [0.5, 0.7, 0.9], frozenset({"a2"})) == pytest.approx(0.4 - 0.6)
    assert math.isnan(relative_value(0.4, [0.5, 0.7], frozenset({"a0", "a1"})))


INDEPENDENTS = ("i1", "i2", "i3", "i4", "i5", "i6")


def far_thief_evidence() -> tuple[Evidence, AuditRoles]:
    """Six independents at 0.40-0.52 from the source and 0.38-0.55 from each other; a thief of another kind at 0.70
    from the source and 0.90-0.98 from every independent (far from all, closest to its source)."""
    rng = np.random.default_rng(0)
    from_source = {i: 0.40 + 0.02 * k for k, i in enumerate(INDEPENDENTS)} | {"thief": 0.70}
    to_anchors: dict[str, dict[str, float]] = {m: {} for m in (*INDEPENDENTS, "thief")}
    for k, a in enumerate(INDEPENDENTS):
        for b in INDEPENDENTS[k + 1 :]:
            to_anchors[a][b] = to_anchors[b][a] = float(rng.uniform(0.38, 0.55))
        to_anchors["thief"][a] = float(rng.uniform(0.90, 0.98))
    evidence = Evidence("source", {"m": from_source}, {"m": {}}, {"m": 10}, {"m": to_anchors})
    return evidence, AuditRoles("source", ("thief", "i1"), INDEPENDENTS)


def verdicts(calibration: str) -> dict[str, str]:
    evidence, roles = far_thief_evidence()
    rows = assess(evidence, roles, ["m"], 0.05, ReadingSettings("best", calibration))
    return {row.suspect: row.calibration.verdict for row in rows if row.method == "m"}


def test_a_thief_far_from_every_model_but_closest_to_its_source_is_derived_only_when_read_relatively():
    assert verdicts("absolute")["thief"] == "independent"  # farther from the source than every independent
    assert verdicts("relative")["thief"] == "derived"
    assert verdicts("relative")["i1"] != "derived"  # an independent (leave-one-out) is not accused


def test_the_row_keeps_the_raw_distance_and_its_score_reads_the_relative_one():
    evidence, roles = far_thief_evidence()
    (row,) = [
        r
        for r in assess(evidence, roles, ["m"], 0.05, ReadingSettings("best", "relative"))
        if r.suspect == "thief" and r.method == "m"
    ]
    assert row.calibration.distance == 0.70 and row.calibration.score > 3


def test_a_suspect_comparable_with_no_independent_is_not_available():
    evidence, roles = far_thief_evidence()
    evidence.to_anchors["m"]["thief"] = {i: math.nan for i in INDEPENDENTS}
    (row,) = [
        r
        for r in assess(evidence, roles, ["m"], 0.05, ReadingSettings("best", "relative"))
        if r.suspect == "thief" and r.method == "m"
    ]
    assert row.calibration.verdict == "n/a" and "none of the independents" in row.calibration.note


def test_a_model_with_tightly_spread_distances_is_not_accused_for_a_small_difference():
    """An independent of an outlying kind: its distances to the other independents lie within 0.001 of each other,
    and the source sits 0.003 nearer. Divided by its own spread that would be a large step; the rule reads it in the
    method's units against the other independents' differences, and the small step stays small."""
    evidence, roles = far_thief_evidence()
    outlier = evidence.to_anchors["m"]["i1"]
    for k, other in enumerate(INDEPENDENTS[1:]):
        outlier[other] = evidence.to_anchors["m"][other]["i1"] = 0.900 + 0.0002 * k
    evidence.distances["m"]["i1"] = 0.897
    assert verdicts("relative")["thief"] == "derived"
    rows = assess(evidence, roles, ["m"], 0.05, ReadingSettings("best", "relative"))
    assert next(r for r in rows if r.suspect == "i1" and r.method == "m").calibration.verdict != "derived"


def test_the_command_line_refuses_an_unknown_calibration(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "zoo.toml", "--source", "s", "--out", "o", "--calibration", "raw"])
    assert exit_info.value.code == 2 and "--calibration" in capsys.readouterr().err


def test_every_calibration_rule_has_an_axis_in_the_figure():
    from gifviz.audit.names import CALIBRATION_RULES
    from gifviz.figures.audit import CALIBRATION_AXES

    assert tuple(CALIBRATION_AXES) == CALIBRATION_RULES


def test_a_saturated_method_gives_a_bounded_score_when_read_relatively():
    """Six independents at distance 1.0 from the source and from each other (a method that saturates); a suspect
    that differs from the source on one sample in 512. Relative values sit at 0, so the spread floor is taken from
    the raw distances' scale: the score stays what the absolute rule gives, not a division by nothing."""
    saturated = {i: 1.0 for i in INDEPENDENTS} | {"suspect": 1 - 1 / 512}
    to_anchors = {m: {i: 1.0 for i in INDEPENDENTS if i != m} for m in saturated}
    evidence = Evidence("source", {"m": saturated}, {"m": {}}, {"m": 512}, {"m": to_anchors})
    roles = AuditRoles("source", ("suspect",), INDEPENDENTS)
    scores = {}
    for calibration in ("relative", "absolute"):
        (row,) = [
            r.calibration
            for r in assess(evidence, roles, ["m"], 0.05, ReadingSettings("best", calibration))
            if r.method == "m"
        ]
        assert row.verdict != "derived" and row.p_tail > 0.05
        scores[calibration] = row.score
    assert scores["relative"] == pytest.approx(scores["absolute"], rel=1e-3)


def test_relative_reading_without_distances_to_the_independents_is_one_line():
    evidence, roles = far_thief_evidence()
    bare = Evidence("source", evidence.distances, evidence.reasons, evidence.samples)
    with pytest.raises(AuditError, match="no distances to the independents") as raised:
        assess(bare, roles, ["m"], 0.05, ReadingSettings("best", "relative"))
    assert "\n" not in str(raised.value)
    assert {
        r.calibration.verdict for r in assess(bare, roles, ["m"], 0.05, ReadingSettings("best", "absolute"))
    } <= set(VERDICTS)
