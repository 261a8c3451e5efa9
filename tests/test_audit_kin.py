"""The audit says when a suspect of the source's architecture is read on a thin same-architecture null (fewer than two
independents of that architecture in its calibration): a note on its combined row and a warning for the audit, on
distances written here and through the command line; the reading itself is unchanged."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import make_cnn, perturbed, read_audit, write_pngs, write_zoo
from test_audit_same_arch import two_kinds_evidence

from gifviz.audit import kin as kin_module
from gifviz.audit.kin import thin_kin_note, thin_kin_warning
from gifviz.audit.names import SAME_ARCH
from gifviz.audit.roles import AuditRoles
from gifviz.audit.run_audit import COMBINED, assess
from gifviz.audit.settings import ReadingSettings
from gifviz.cli import main


def _combined_notes(evidence, roles, calibration: str = SAME_ARCH) -> dict[str, str]:
    rows = assess(evidence, roles, ["m"], 0.05, ReadingSettings("capped-sum", calibration))
    return {r.suspect: r.calibration.note for r in rows if r.method == COMBINED}


def test_two_independents_of_the_sources_architecture_need_no_note():
    evidence, roles = two_kinds_evidence()  # k1 and k2 share the source's architecture, as does "innocent"
    assert not any("thin null" in note for note in _combined_notes(evidence, roles).values())
    assert read_audit(evidence, roles, ["m"]).warnings() == []


def test_one_independent_of_the_sources_architecture_is_said_on_the_row_and_for_the_audit():
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=frozenset({"k1", "innocent", "newhead"}))
    notes = _combined_notes(evidence, roles)
    assert (
        "thin null: innocent has the source's architecture and is read against one independent of it (k1)"
        in (notes["innocent"])
    )
    assert "thin null" not in notes["thief"]  # another architecture: read against k1 as the source is
    assert "thin null" not in notes["newhead"]  # other output classes: read by another rule
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert warning.startswith("only one independent has the source 'source''s architecture (k1)")
    assert "(innocent)" in warning and "name 2 or more" in warning
    # the relative and absolute rules do not read against the source's kind: nothing to say
    for rule in ("relative", "absolute"):
        assert not any("thin null" in note for note in _combined_notes(evidence, roles, rule).values())
        assert read_audit(evidence, roles, ["m"], ReadingSettings("capped-sum", rule)).warnings() == []


def test_an_independent_read_leave_one_out_with_one_of_its_kind_left_gets_the_note_alone():
    """Two of the source's architecture among the independents: the audit is not thin, but ``k1`` named as a suspect
    too is read against ``k2`` alone, which its row says."""
    evidence, roles = two_kinds_evidence()
    roles = AuditRoles("source", ("k1", "o1", "thief"), roles.independents)
    notes = _combined_notes(evidence, roles)
    assert "read against one independent of it (k2)" in notes["k1"]
    assert "thin null" not in notes["o1"] and "thin null" not in notes["thief"]
    assert read_audit(evidence, roles, ["m"]).warnings() == []


def test_no_independent_of_the_sources_architecture_is_said_too():
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=frozenset({"innocent", "newhead"}))
    assert "no independent in use shares it" in _combined_notes(evidence, roles)["innocent"]
    (warning,) = read_audit(evidence, roles, ["m"]).warnings()
    assert warning.startswith("no independent has the source 'source''s architecture, which suspects have (innocent)")
    # with no suspect of its architecture there is nothing to warn about
    thieves_only = AuditRoles("source", ("thief",), roles.independents)
    assert thin_kin_warning(evidence, thieves_only, SAME_ARCH) is None
    assert thin_kin_note(evidence, "thief", roles.independents, SAME_ARCH) == ""


def test_the_note_changes_no_reading(monkeypatch):
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=frozenset({"k1", "innocent", "newhead"}))
    roles = AuditRoles("source", ("k1", "innocent", "thief", "newhead"), roles.independents)
    settings = ReadingSettings("capped-sum", SAME_ARCH)
    noted = assess(evidence, roles, ["m"], 0.05, settings)
    assert any("thin null" in r.calibration.note for r in noted)
    monkeypatch.setattr("gifviz.audit.run_audit.thin_kin_note", lambda *args: "")
    plain = assess(evidence, roles, ["m"], 0.05, settings)
    assert [(r.suspect, r.method) for r in noted] == [(r.suspect, r.method) for r in plain]
    for a, b in zip(noted, plain, strict=True):
        assert dataclasses.replace(a.calibration, note="") == dataclasses.replace(b.calibration, note="")
    assert kin_module.ENOUGH_KIN == 2


@pytest.fixture
def one_kin_zoo(tmp_path):
    """A source, its fine-tuned child, one independent of the source's architecture and two of a wider one."""
    models = {
        "src": make_cnn(0),
        "child": perturbed(make_cnn(0), 0.02, 1),
        "narrow": make_cnn(10),
        **{f"wide{k}": make_cnn(20 + k, width=6) for k in range(2)},
    }
    fields = {"src": {"relation": "source"}, "child": {"relation": "finetune", "parent": "src"}}
    fields |= {m: {"relation": "independent"} for m in ("narrow", "wide0", "wide1")}
    manifest = write_zoo(tmp_path / "zoo", models, references="refs", fields=fields)
    write_pngs(manifest.parent / "refs", 8)
    return manifest


def test_the_command_line_warns_and_writes_the_warning(one_kin_zoo, tmp_path, isolated_cache, capsys):
    out = tmp_path / "audit"
    args = ["audit", str(one_kin_zoo), "--source", "src", "--methods", "disagreement", "--n-refs", "8"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "gifviz: warning: only one independent has the source 'src''s architecture (narrow)" in err
    assert "(child)" in err
    provenance = json.loads((out / "audit.json").read_text())
    assert len(provenance["warnings"]) == 1 and "(narrow)" in provenance["warnings"][0]
