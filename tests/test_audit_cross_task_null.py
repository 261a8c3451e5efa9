"""The cross-task null (round twelve's ``other-kinds``, the default until round seventeen made it ``all`` again):
under ``other-kinds``, a suspect with other output classes than the source is calibrated against the independents of
other architectures than the source's only (its own kind shares its task); by hand, its fallback when too few others
remain, what it leaves alone, and the readings that report it."""

from __future__ import annotations

import math

import pytest
from conftest import read_audit

from gifviz.audit.calibration import calibrate
from gifviz.audit.evidence import Evidence
from gifviz.audit.names import CROSS_TASK_NULLS, DEFAULT_CROSS_TASK_NULL, OTHER_KINDS, RELATIVE, SAME_ARCH
from gifviz.audit.reading import MethodReading
from gifviz.audit.roles import AuditError, AuditRoles
from gifviz.audit.run_audit import COMBINED, assess
from gifviz.audit.settings import ReadingSettings

KIN = ("k1", "k2")  # the source's architecture and task
OTHERS = ("o1", "o2", "o3", "o4")
INDEPENDENTS = (*KIN, *OTHERS)
# distances from the source: its own kind is near it, the other kinds far; a transfer model ("newhead") in between,
# an innocent model of the other task ("stranger") as far as the other kinds, a thief of the source's task near
FROM_SOURCE = {"k1": 0.30, "k2": 0.34, "o1": 0.80, "o2": 0.84, "o3": 0.78, "o4": 0.86}
SUSPECTS = {"newhead": 0.55, "stranger": 0.83, "thief": 0.40}
OTHER_CLASSES = frozenset({"newhead", "stranger"})


def anchor_distance(a: str, b: str) -> float:
    """Models of one kind are near each other (0.35), of two kinds far (0.85); a suspect is far from every
    independent (0.8), the transfer model a little nearer to the source's kind (0.6)."""
    if a in SUSPECTS or b in SUSPECTS:
        suspect, other = (a, b) if a in SUSPECTS else (b, a)
        return 0.6 if suspect == "newhead" and other in KIN else 0.8 + 0.01 * INDEPENDENTS.index(other)
    same_kind = (a in KIN) == (b in KIN)
    return 0.35 + 0.01 * (INDEPENDENTS.index(a) + INDEPENDENTS.index(b)) if same_kind else 0.85


def evidence_for(kin: tuple[str, ...] = KIN) -> Evidence:
    models = (*INDEPENDENTS, *SUSPECTS)
    to_anchors = {m: {a: anchor_distance(m, a) for a in INDEPENDENTS if a != m} for m in models}
    return Evidence(
        "source",
        {"modelgif": {**FROM_SOURCE, **SUSPECTS}},
        {"modelgif": {}},
        {"modelgif": 128},
        {"modelgif": to_anchors},
        other_classes=OTHER_CLASSES,
        same_architecture=frozenset({"source", *kin}),
    )


def rows_by_suspect(evidence: Evidence, cross_task_null: str, method: str = "modelgif", **other_settings) -> dict:
    roles = AuditRoles("source", tuple(SUSPECTS), INDEPENDENTS)
    settings = ReadingSettings(cross_task_null=cross_task_null, **other_settings)
    return {
        r.suspect: r.calibration for r in assess(evidence, roles, ["modelgif"], 0.05, settings) if r.method == method
    }


def relative_value(model: str, anchors: tuple[str, ...]) -> float:
    """A model's relative value by hand: its distance from the source less its mean distance to ``anchors``."""
    distance = {**FROM_SOURCE, **SUSPECTS}[model]
    kept = [anchor_distance(model, a) for a in anchors if a != model]
    return distance - sum(kept) / len(kept)


def test_round_seventeen_decided_the_default():
    assert DEFAULT_CROSS_TASK_NULL == "all" and set(CROSS_TASK_NULLS) == {"all", OTHER_KINDS}
    assert ReadingSettings().cross_task_null == "all"
    with pytest.raises(AuditError, match="unknown cross-task null 'kin'; choose one of: all, other-kinds"):
        ReadingSettings(cross_task_null="kin")


def test_other_kinds_by_hand():
    """The transfer model's value and every value of its null are taken against the other kinds only, and its
    calibration holds the other kinds only; the source's own kind, near the source, widened the null it joined."""
    evidence = evidence_for()
    every, other_kinds = rows_by_suspect(evidence, "all"), rows_by_suspect(evidence, OTHER_KINDS)
    value = relative_value("newhead", OTHERS)
    null = [relative_value(j, tuple(o for o in OTHERS if o != j)) for j in OTHERS]
    reading = MethodReading(evidence, "modelgif", INDEPENDENTS, ReadingSettings(calibration=RELATIVE))
    expected = calibrate(value, null, 0.05, reading.floor_scale, reading.min_spread, reading.max_centre)
    got = other_kinds["newhead"]
    assert got.independents == len(OTHERS)
    assert got.score == pytest.approx(expected.score) and got.p_tail == pytest.approx(expected.p_tail)
    assert "independents of other architectures than 'source'" in got.note and "k1, k2" in got.note
    # with the source's kind in its null, the transfer model is read against values as derived as its own
    assert every["newhead"].independents == len(INDEPENDENTS)
    assert got.score > every["newhead"].score
    # combined fuses ModelGiF alone for it and reads that method's own calibration
    assert rows_by_suspect(evidence, OTHER_KINDS, COMBINED)["newhead"].score == pytest.approx(got.score)


def test_suspects_of_the_source_task_are_read_as_before():
    evidence = evidence_for()
    for method in ("modelgif", COMBINED):
        assert (
            rows_by_suspect(evidence, "all", method)["thief"] == rows_by_suspect(evidence, OTHER_KINDS, method)["thief"]
        )


def test_without_kin_or_with_too_few_others_every_independent_stays():
    # no independent of the source's architecture: nothing to leave out, and no note
    none = evidence_for(kin=())
    assert rows_by_suspect(none, OTHER_KINDS)["newhead"] == rows_by_suspect(none, "all")["newhead"]
    # two independents of other architectures left: too few for combined's fused null (it needs 3), so every one
    # is kept, and it says so
    most = evidence_for(kin=(*KIN, "o1", "o2"))
    kept = rows_by_suspect(most, OTHER_KINDS)["newhead"]
    before = rows_by_suspect(most, "all")["newhead"]
    assert kept.independents == before.independents == len(INDEPENDENTS)
    assert kept.score == pytest.approx(before.score)
    assert "read against every independent: 2 of other architectures than 'source' are too few" in kept.note
    # three are enough
    assert rows_by_suspect(evidence_for(kin=(*KIN, "o1")), OTHER_KINDS)["newhead"].independents == 3


def test_every_rule_and_the_fused_reading_use_the_other_kinds():
    """Under the relative and absolute rules too, and where ``combined`` reads one method as a fused statistic: its
    null then holds the independents of other kinds only, each fused against the other ones."""
    evidence = evidence_for()
    for rule in (SAME_ARCH, RELATIVE, "absolute"):
        for method, one_method in (("modelgif", "own"), (COMBINED, "own"), (COMBINED, "fused")):
            every = rows_by_suspect(evidence, "all", method, calibration=rule, one_method=one_method)["newhead"]
            kinless = rows_by_suspect(evidence, OTHER_KINDS, method, calibration=rule, one_method=one_method)["newhead"]
            assert every.independents == len(INDEPENDENTS) and kinless.independents == len(OTHERS), (rule, method)


def test_the_audits_own_check_is_not_moved():
    """The self-check reads the independents, who share the source's task: the cross-task null never applies."""
    evidence = evidence_for()
    roles = AuditRoles("source", tuple(SUSPECTS), INDEPENDENTS)
    checks = [
        read_audit(evidence, roles, ["modelgif"], ReadingSettings(cross_task_null=c)).self_check().rows
        for c in CROSS_TASK_NULLS
    ]
    assert checks[0] == checks[1]


def test_the_statistics_and_the_provenance_follow_the_setting():
    evidence = evidence_for()
    roles = AuditRoles("source", tuple(SUSPECTS), INDEPENDENTS)
    before = read_audit(evidence, roles, ["modelgif"], ReadingSettings(cross_task_null="all"))
    after = before.reread(cross_task_null=OTHER_KINDS)
    assert (
        after.settings.cross_task_null == OTHER_KINDS and after.provenance["config"]["cross_task_null"] == OTHER_KINDS
    )
    assert after.row("newhead", "modelgif") == rows_by_suspect(evidence, OTHER_KINDS)["newhead"]
    # what the Audit page plots for a suspect is what it was read on
    assert after.statistics("modelgif")["newhead"] == pytest.approx(relative_value("newhead", OTHERS))
    assert before.statistics("modelgif")["newhead"] == pytest.approx(relative_value("newhead", INDEPENDENTS))
    assert math.isclose(after.statistics("modelgif")["thief"], before.statistics("modelgif")["thief"])
    assert after.reread(fusion="best").settings.cross_task_null == OTHER_KINDS


def test_the_command_line_chooses_the_cross_task_null(capsys):
    from gifviz.cli import build_parser, main

    parser = build_parser()
    base = ["audit", "zoo.toml", "--source", "s", "--out", "o"]
    assert parser.parse_args(base).cross_task_null == DEFAULT_CROSS_TASK_NULL
    assert parser.parse_args([*base, "--cross-task-null", OTHER_KINDS]).cross_task_null == OTHER_KINDS
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--cross-task-null", "kin"])
    assert exit_info.value.code == 2 and "--cross-task-null" in capsys.readouterr().err
