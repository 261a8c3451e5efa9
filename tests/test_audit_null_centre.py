"""Where a calibration read against the anchors is centred (round ten's candidate): the independents' mean, or that
mean bounded at 0 (a model no closer to the source than to its kin). By hand on small evidence: a model far from every
other, whose relative value is squeezed to 0, and a thief; that nothing changes where the mean is below 0, under the
absolute rule or for source flips; and that the centre reaches every reading of ``combined``'s fused null."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import read_audit

from gifviz.audit.calibration import calibrate
from gifviz.audit.evidence import Evidence
from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, FUSIONS, capped_sum, stouffer
from gifviz.audit.names import (
    ABSOLUTE,
    DEFAULT_FUSION,
    DEFAULT_NULL_CENTRE,
    NULL_CENTRES,
    RELATIVE,
    SAME_ARCH,
    SOURCE_FLIPS,
)
from gifviz.audit.reading import MethodReading
from gifviz.audit.roles import AuditError, AuditRoles
from gifviz.audit.run_audit import assess
from gifviz.audit.settings import ReadingSettings

INDEPENDENTS = ("i1", "i2", "i3", "i4", "i5")
ANCHOR_DISTANCE = 0.5
# Each independent is farther from the source than from the other independents (ModelDiff's bias: its input pairs
# are crafted on the source): relative values 0.16-0.24, all above 0.
FROM_SOURCE = {"i1": 0.66, "i2": 0.70, "i3": 0.74, "i4": 0.68, "i5": 0.72}
# A model far from every other (relative value 0), and a thief (the source nearer to it than its kin: -0.3).
FAR, THIEF = "far", "thief"


def evidence_for(from_source: dict[str, float], method: str = "modeldiff") -> Evidence:
    distances = {**from_source, FAR: 0.9, THIEF: 0.2}
    to_anchors = {m: {a: (0.9 if m == FAR else ANCHOR_DISTANCE) for a in INDEPENDENTS if a != m} for m in distances}
    return Evidence("source", {method: distances}, {method: {}}, {method: 128}, {method: to_anchors})


def relative_values(from_source: dict[str, float]) -> dict[str, float]:
    """Every model's relative value by hand: its distance from the source minus its mean distance to the anchors."""
    return {**{i: d - ANCHOR_DISTANCE for i, d in from_source.items()}, FAR: 0.0, THIEF: 0.2 - ANCHOR_DISTANCE}


def scores(evidence: Evidence, rule: str, null_centre: str, method: str = "modeldiff") -> dict[str, float]:
    roles = AuditRoles("source", (FAR, THIEF), INDEPENDENTS)
    rows = assess(evidence, roles, [method], 0.05, ReadingSettings("capped-sum", rule, null_centre=null_centre))
    return {r.suspect: r.calibration.score for r in rows if r.method == method}


def test_calibrate_centres_at_most_at_the_bound_and_keeps_the_empirical_p():
    others = [0.16, 0.20, 0.24, 0.18, 0.22]
    mean_centred, bounded = calibrate(0.0, others, 0.05), calibrate(0.0, others, 0.05, max_centre=0.0)
    spread = float(np.std(others, ddof=1))
    assert mean_centred.score == pytest.approx(0.20 / spread) and bounded.score == pytest.approx(0.0)
    assert bounded.p_tail == pytest.approx(0.5) and mean_centred.p_tail < 0.05
    assert bounded.p_value == mean_centred.p_value == pytest.approx(1 / 6)
    # a mean already below the bound is the centre
    below = [-v for v in others]
    assert calibrate(-0.5, below, 0.05, max_centre=0.0) == calibrate(-0.5, below, 0.05)


def test_only_values_read_against_the_anchors_get_the_bound():
    def centre(evidence, method: str, rule: str, null_centre: str) -> float | None:
        settings = ReadingSettings(calibration=rule, null_centre=null_centre)
        return MethodReading(evidence, method, INDEPENDENTS, settings).max_centre

    evidence = evidence_for(FROM_SOURCE)
    for rule in (SAME_ARCH, RELATIVE):
        assert centre(evidence, "modeldiff", rule, "bounded") == 0.0
        assert centre(evidence, "modeldiff", rule, "mean") is None
    assert centre(evidence, "modeldiff", ABSOLUTE, "bounded") is None
    # source flips are read raw under every rule (their evidence is already taken against the independents)
    assert centre(evidence_for(FROM_SOURCE, SOURCE_FLIPS), SOURCE_FLIPS, SAME_ARCH, "bounded") is None


def test_a_far_model_no_longer_reads_as_derived_and_a_thief_still_does():
    """The far model's relative value is 0, below every independent's: centred on their mean it scores about six
    standard deviations; bounded, 0. The thief keeps the part of its evidence beyond 0."""
    evidence, values = evidence_for(FROM_SOURCE), relative_values(FROM_SOURCE)
    null = [values[i] for i in INDEPENDENTS]
    for rule in (SAME_ARCH, RELATIVE):  # no independent shares the source's architecture: same-arch reads them all
        centred, bounded = scores(evidence, rule, "mean"), scores(evidence, rule, "bounded")
        assert centred[FAR] == pytest.approx(calibrate(0.0, null, 0.05).score) and centred[FAR] > 5
        assert bounded[FAR] == pytest.approx(0.0)
        assert bounded[THIEF] == pytest.approx(calibrate(values[THIEF], null, 0.05, max_centre=0.0).score)
        assert bounded[THIEF] > 9 and centred[THIEF] > bounded[THIEF]


def test_nothing_changes_below_zero_under_absolute_or_for_source_flips():
    nearer = {i: d - 0.3 for i, d in FROM_SOURCE.items()}  # relative values -0.14 to -0.06: the mean is the centre
    assert scores(evidence_for(nearer), SAME_ARCH, "bounded") == scores(evidence_for(nearer), SAME_ARCH, "mean")
    evidence = evidence_for(FROM_SOURCE)
    assert scores(evidence, ABSOLUTE, "bounded") == scores(evidence, ABSOLUTE, "mean")


def test_a_suspect_of_another_task_is_read_with_the_audits_centre():
    """Under same-arch a suspect with other output classes is read by the relative rule (its own readings): with the
    centre the audit was asked for, not the default."""
    base = evidence_for(FROM_SOURCE)
    evidence = Evidence(
        base.origin, base.distances, base.reasons, base.samples, base.to_anchors, other_classes=frozenset({FAR})
    )
    null = [relative_values(FROM_SOURCE)[i] for i in INDEPENDENTS]
    for null_centre, bound in (("mean", None), ("bounded", 0.0)):
        expected = calibrate(0.0, null, 0.05, max_centre=bound).score
        assert scores(evidence, SAME_ARCH, null_centre)[FAR] == pytest.approx(expected), null_centre


def test_the_audits_own_check_reads_the_independents_with_its_centre():
    evidence = evidence_for(FROM_SOURCE)
    roles = AuditRoles("source", (FAR,), INDEPENDENTS)
    checks = {}
    for null_centre in NULL_CENTRES:
        result = read_audit(
            evidence, roles, ["modeldiff"], ReadingSettings("capped-sum", RELATIVE, null_centre=null_centre)
        )
        checks[null_centre] = result.self_check().rows
        as_suspects = AuditRoles("source", INDEPENDENTS, INDEPENDENTS)
        expected = assess(
            evidence, as_suspects, ["modeldiff"], 0.05, ReadingSettings("capped-sum", RELATIVE, null_centre=null_centre)
        )
        assert list(checks[null_centre]) == expected
    assert checks["mean"] != checks["bounded"]


def test_an_audit_is_read_again_with_the_other_centre_and_says_so():
    """Round ten's decision is the default; an audit read with the old centre is read again with the new, recorded."""
    assert DEFAULT_NULL_CENTRE == "bounded"
    evidence = evidence_for(FROM_SOURCE)
    roles = AuditRoles("source", (FAR, THIEF), INDEPENDENTS)
    before = read_audit(evidence, roles, ["modeldiff"], ReadingSettings("capped-sum", RELATIVE, null_centre="mean"))
    bounded = before.reread(null_centre="bounded")
    assert bounded.settings.null_centre == "bounded" and bounded.provenance["config"]["null_centre"] == "bounded"
    assert bounded.row(FAR, "modeldiff").score == pytest.approx(scores(evidence, RELATIVE, "bounded")[FAR])
    assert (
        bounded.reread(fusion="best").settings.null_centre == "bounded"
        and before.reread(fusion="best").settings.null_centre == "mean"
    )
    # the values themselves do not depend on the centre
    assert bounded.statistics("modeldiff") == before.statistics("modeldiff")
    assert set(NULL_CENTRES) == {"mean", "bounded"}
    with pytest.raises(AuditError, match="unknown null centre 'median'; choose one of: mean, bounded"):
        before.reread(null_centre="median")


def test_the_centre_reaches_every_reading_in_combineds_fused_null():
    """Two methods, so that ``combined`` fuses and reads the far model against the independents' own fused
    statistics: each independent's readings are centred the same way (by hand below), so under the bounded centre
    the null sits near 0 instead of at each method's mean."""
    field_from_source = {i: d - 0.1 for i, d in FROM_SOURCE.items()}  # ModelGiF: relative values 0.06-0.14
    diff, field = evidence_for(FROM_SOURCE), evidence_for(field_from_source, "modelgif")
    evidence = Evidence(
        "source",
        {**diff.distances, **field.distances},
        {"modeldiff": {}, "modelgif": {}},
        {"modeldiff": 128, "modelgif": 128},
        {**diff.to_anchors, **field.to_anchors},
    )
    values = {"modeldiff": relative_values(FROM_SOURCE), "modelgif": relative_values(field_from_source)}
    roles = AuditRoles("source", (FAR,), INDEPENDENTS)

    def fused(model: str, against: list[str], bound: float | None) -> float:
        return capped_sum(
            {m: calibrate(v[model], [v[i] for i in against], 0.05, max_centre=bound) for m, v in values.items()}
        )

    for null_centre, bound in (("bounded", 0.0), ("mean", None)):
        null = [fused(j, [i for i in INDEPENDENTS if i != j], bound) for j in INDEPENDENTS]
        statistic = fused(FAR, list(INDEPENDENTS), bound)
        expected = calibrate(-statistic, [-v for v in null], 0.05, min_spread=FUSED_SPREAD_FLOORS["capped-sum"])
        rows = assess(
            evidence,
            roles,
            ["modeldiff", "modelgif"],
            0.05,
            ReadingSettings("capped-sum", RELATIVE, null_centre=null_centre, combined_score="calibrated"),
        )
        got = next(r.calibration for r in rows if r.method == "combined")
        assert got.distance == pytest.approx(statistic) and got.score == pytest.approx(expected.score), null_centre
    # bounded, no method puts the far model beyond 0: its fused statistic is 0
    assert fused(FAR, list(INDEPENDENTS), 0.0) == pytest.approx(0.0)
    # the second calibration reads fused statistics, not relative values: it is centred on their mean whatever the
    # null centre (Stouffer's z of the bounded readings puts the independents' fused values below 0, where a bound
    # would change nothing, so the far model's own z, above them, is read against that mean)
    z = {
        model: stouffer(
            {
                m: calibrate(v[model], [v[i] for i in INDEPENDENTS if i != model], 0.05, max_centre=0.0)
                for m, v in values.items()
            }
        )
        for model in INDEPENDENTS
    }
    statistic = stouffer(
        {m: calibrate(v[FAR], [v[i] for i in INDEPENDENTS], 0.05, max_centre=0.0) for m, v in values.items()}
    )
    expected = calibrate(-statistic, [-z[j] for j in INDEPENDENTS], 0.05, min_spread=FUSED_SPREAD_FLOORS["stouffer"])
    rows = assess(
        evidence,
        roles,
        ["modeldiff", "modelgif"],
        0.05,
        ReadingSettings("stouffer", RELATIVE, null_centre="bounded", combined_score="calibrated"),
    )
    got = next(r.calibration for r in rows if r.method == "combined")
    assert got.score == pytest.approx(expected.score)
    assert expected.score != pytest.approx(
        calibrate(-statistic, [-z[j] for j in INDEPENDENTS], 0.05, max_centre=0.0).score
    )


def test_a_sum_of_z_values_keeps_the_evidence_the_bound_puts_below_zero():
    """Round eleven's reason: bounded at 0, independents whose values centre above 0 all score below 0. A sum of the
    positive scores (capped-sum) then fuses every one of them to 0, a null with no spread; Stouffer's z keeps how far
    below each lies, so the null the suspects are read against keeps its shape (round eighteen's default,
    fitted-weights, is Stouffer's z with a weight per method, and keeps it too)."""
    values = relative_values(FROM_SOURCE)

    def readings(model: str) -> dict:
        others = [values[i] for i in INDEPENDENTS if i != model]
        reading = calibrate(values[model], others, 0.05, max_centre=0.0)
        return {"modeldiff": reading, "modelgif": reading}  # two methods that agree

    capped = [capped_sum(readings(j)) for j in INDEPENDENTS]
    summed = [stouffer(readings(j)) for j in INDEPENDENTS]
    assert capped == [0.0] * len(INDEPENDENTS)
    assert all(z < 0 for z in summed) and len(set(summed)) == len(INDEPENDENTS)
    shipped = [FUSIONS[DEFAULT_FUSION](readings(j)) for j in INDEPENDENTS]
    assert all(z < 0 for z in shipped) and len(set(shipped)) == len(INDEPENDENTS)
