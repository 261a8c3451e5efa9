"""The audit says when a suspect of the source's architecture is read on a thin same-architecture null (fewer than two
independents of that architecture in its calibration): a note on its combined row and a warning for the audit, on
distances written here and through the command line; the reading itself is unchanged."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from conftest import read_audit, write_one_kin_zoo
from test_audit_same_arch import two_kinds_evidence

from gifviz.audit.names import SAME_ARCH
from gifviz.audit.roles import AuditRoles
from gifviz.audit.run_audit import COMBINED, assess
from gifviz.audit.settings import ReadingSettings
from gifviz.cli import main


def _combined_notes(evidence, roles, calibration: str = SAME_ARCH, methods=("m",)) -> dict[str, str]:
    rows = assess(evidence, roles, list(methods), 0.05, ReadingSettings("capped-sum", calibration))
    return {r.suspect: r.calibration.note for r in rows if r.method == COMBINED}


ONE_KIN = frozenset({"k1", "innocent", "newhead"})  # of the independents, only k1 has the source's architecture


def test_two_independents_of_the_sources_architecture_need_no_note():
    evidence, roles = two_kinds_evidence()  # k1 and k2 share the source's architecture, as does "innocent"
    assert not any("thin null" in note for note in _combined_notes(evidence, roles).values())
    assert read_audit(evidence, roles, ["m"]).warnings() == []


def test_one_independent_of_the_sources_architecture_is_said_on_the_row_and_for_the_audit():
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=ONE_KIN)
    notes = _combined_notes(evidence, roles)
    assert "thin null: read against only k1 of the independents of the source's architecture" in notes["innocent"]
    assert "thin null" not in notes["thief"]  # another architecture: read against k1 as the source is
    assert "thin null" not in notes["newhead"]  # other output classes: read by another rule
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert warning.startswith("only k1 of the independents shares the architecture of the source 'source'")
    assert "(innocent)" in warning and "name 2 or more" in warning
    # the relative and absolute rules do not read against the source's kind: nothing to say
    for rule in ("relative", "absolute"):
        assert not any("thin null" in note for note in _combined_notes(evidence, roles, rule).values())
        assert read_audit(evidence, roles, ["m"], ReadingSettings("capped-sum", rule)).warnings() == []


def test_the_rows_flag_is_their_note_and_the_warning_reads_it():
    """The audit's warning counts suspects by their combined rows' flag (no second reading), which is set exactly when
    the row's note says ``thin null``, under every rule and after a reread."""
    evidence, roles = two_kinds_evidence()
    for same_architecture in (ONE_KIN, ONE_KIN | {"thief"}, frozenset({"k1", "k2", "innocent"})):
        result = read_audit(dataclasses.replace(evidence, same_architecture=same_architecture), roles, ["m"])
        for audit in (result, *(result.reread(calibration=rule) for rule in ("relative", "absolute", SAME_ARCH))):
            combined = [row for row in audit.rows if row.method == COMBINED]
            assert [r.thin_null for r in combined] == ["thin null" in r.calibration.note for r in combined]
            flagged = [r.suspect for r in combined if r.thin_null and r.suspect not in roles.independents]
            assert bool(audit.warnings()) == bool(flagged)
            assert all(f"({', '.join(flagged)})" in w for w in audit.warnings())
    assert any(
        r.thin_null for r in read_audit(dataclasses.replace(evidence, same_architecture=ONE_KIN), roles, ["m"]).rows
    )


def test_the_note_is_the_same_for_every_suspect_read_alike():
    """The CLI prints a note many rows share once: the note never names its suspect."""
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=ONE_KIN | {"thief"})
    notes = _combined_notes(evidence, roles)
    assert "thin null" in notes["innocent"] and notes["innocent"] == notes["thief"]


def test_an_independent_the_method_cannot_compare_is_not_counted():
    """Two independents of the source's architecture, but the method gives no distance for k2: it reads every value
    against k1 alone. The note says so, and the warning says the zoo has both but a method cannot compare them."""
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, distances={"m": {**evidence.distances["m"], "k2": math.nan}})
    note = _combined_notes(evidence, roles)["innocent"]
    assert "read against only k1 of the independents of the source's architecture" in note
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert warning.startswith("suspects of the architecture of the source 'source' (innocent) are read on a thin null")
    assert "cannot compare all 2 independents of that architecture (k1, k2)" in warning


def test_methods_blind_to_different_kin_are_each_named():
    evidence, roles = two_kinds_evidence()
    m = evidence.distances["m"]
    evidence = dataclasses.replace(
        evidence,
        distances={"m": {**m, "k2": math.nan}, "m2": {**m, "k1": math.nan}},
        reasons={"m": {}, "m2": {}},
        samples={"m": 10, "m2": 10},
        to_anchors={"m": evidence.to_anchors["m"], "m2": evidence.to_anchors["m"]},
    )
    note = _combined_notes(evidence, roles, methods=("m", "m2"))["innocent"]
    assert "read against only k1 or only k2 of the independents" in note


def test_a_method_no_suspect_can_use_raises_no_warning():
    """A second method that compares only one independent calibrates nothing (n/a for every suspect): no row reads
    it, so the warning, counted as the rows are, says nothing either."""
    evidence, roles = two_kinds_evidence()
    m = evidence.distances["m"]
    blind = {model: (d if model in ("o1", "innocent", "thief", "newhead") else math.nan) for model, d in m.items()}
    evidence = dataclasses.replace(
        evidence,
        distances={"m": m, "m2": blind},
        reasons={"m": {}, "m2": {}},
        samples={"m": 10, "m2": 10},
        to_anchors={"m": evidence.to_anchors["m"], "m2": evidence.to_anchors["m"]},
    )
    audited = read_audit(evidence, roles, ["m", "m2"])
    assert not audited.row("innocent", "m2").usable
    assert not any("thin null" in r.calibration.note for r in audited.rows)
    assert audited.warnings() == []


def test_a_method_read_raw_reads_no_anchor_and_gets_no_note():
    """First-layer weights are read raw under every rule: with one independent of the source's architecture, the
    audit fused from them alone says nothing of it, and the one fused from them and ``m`` says it for ``m``."""
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=ONE_KIN)
    raw = dataclasses.replace(
        evidence,
        distances={**evidence.distances, "first-layer": dict(evidence.distances["m"])},
        reasons={**evidence.reasons, "first-layer": {}},
        samples={**evidence.samples, "first-layer": 1},
    )
    settings = ReadingSettings("capped-sum", SAME_ARCH, weight_scope="every-suspect")
    rows = assess(raw, roles, ["first-layer"], 0.05, settings)
    assert not any("thin null" in r.calibration.note for r in rows)
    assert read_audit(raw, roles, ["first-layer"], settings).warnings() == []
    both = {r.suspect: r.calibration.note for r in assess(raw, roles, ["m", "first-layer"], 0.05, settings)}
    assert "thin null" in both["innocent"]


def test_an_independent_read_leave_one_out_with_one_of_its_kind_left_gets_the_note_alone():
    """Two of the source's architecture among the independents: the audit is not thin, but ``k1`` named as a suspect
    too is read against ``k2`` alone, which its row says."""
    evidence, roles = two_kinds_evidence()
    roles = AuditRoles("source", ("k1", "o1", "thief"), roles.independents)
    notes = _combined_notes(evidence, roles)
    assert "read against only k2 of the independents of the source's architecture" in notes["k1"]
    assert "thin null" not in notes["o1"] and "thin null" not in notes["thief"]
    assert read_audit(evidence, roles, ["m"]).warnings() == []


def test_the_lone_independent_named_as_a_suspect_is_left_to_its_row():
    """With k1 the only independent of the source's architecture and also a suspect, k1 is read with none of its kind
    (its row says so) and the warning names the other suspects of that architecture only."""
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=ONE_KIN)
    roles = AuditRoles("source", ("k1", "innocent"), roles.independents)
    assert "no independent of the source's architecture in use" in _combined_notes(evidence, roles)["k1"]
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert "(innocent)" in warning and "k1," not in warning
    alone = AuditRoles("source", ("k1",), roles.independents)
    assert read_audit(evidence, alone, ["m"]).warnings() == []


def test_no_independent_of_the_sources_architecture_is_said_too():
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=frozenset({"innocent", "newhead"}))
    assert "no independent of the source's architecture in use" in _combined_notes(evidence, roles)["innocent"]
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert warning.startswith("no independent shares the architecture of the source 'source', which suspects have")
    # with no suspect of its architecture there is nothing to warn about
    thieves_only = AuditRoles("source", ("thief",), roles.independents)
    assert read_audit(evidence, thieves_only, ["m"]).warnings() == []


def test_the_note_changes_no_reading(monkeypatch):
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=ONE_KIN)
    roles = AuditRoles("source", ("k1", "innocent", "thief", "newhead"), roles.independents)
    settings = ReadingSettings("capped-sum", SAME_ARCH)
    noted = assess(evidence, roles, ["m"], 0.05, settings)
    assert any("thin null" in r.calibration.note for r in noted)
    monkeypatch.setattr("gifviz.audit.run_audit.thin_kin_note", lambda kin: "")
    plain = assess(evidence, roles, ["m"], 0.05, settings)
    assert [(r.suspect, r.method) for r in noted] == [(r.suspect, r.method) for r in plain]
    for a, b in zip(noted, plain, strict=True):
        assert dataclasses.replace(a.calibration, note="") == dataclasses.replace(b.calibration, note="")


@pytest.fixture
def one_kin_zoo(tmp_path):
    """A source, its fine-tuned child, one independent of the source's architecture and two of a wider one."""
    return write_one_kin_zoo(tmp_path / "zoo")


def test_the_command_line_warns_and_writes_the_warning(one_kin_zoo, tmp_path, isolated_cache, capsys):
    out = tmp_path / "audit"
    args = ["audit", str(one_kin_zoo), "--source", "src", "--methods", "disagreement", "--n-refs", "8"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "gifviz: warning: only narrow of the independents shares the architecture of the source 'src'" in err
    assert "(child)" in err
    provenance = json.loads((out / "audit.json").read_text())
    assert len(provenance["warnings"]) == 1 and "only narrow of" in provenance["warnings"][0]
