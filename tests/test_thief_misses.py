"""``benchmarks/thief_misses.py``: each thief's verdict beside its query budget and its agreement with its source, as
the zoo's own check measured them (the figures the README gives for the thieves the audit misses)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark

thief_misses = load_benchmark("thief_misses")

# (model, group, what it queried, architecture, budget, agreement with the source, verdict) of one zoo's thieves
THIEVES = [
    ("xprob-a-mlp", "extract-prob", "digits:attacker", "mlp", 0.25, 0.62, "independent"),
    ("xprob-b-mlp", "extract-prob", "digits:attacker", "mlp", 1.0, 0.9, "derived"),
    ("xprob-a-cnn_wide", "extract-prob", "digits:attacker", "cnn_wide", 0.25, 1.0, "derived"),
    ("xprob-b-cnn_wide", "extract-prob", "digits:attacker", "cnn_wide", 1.0, 0.98, "derived"),
    ("xnat-a-mlp", "extract-label", "natural", "mlp", 0.5, 0.2, "derived"),
    # a label-only thief that queried digits: of neither kind the script reads
    ("xlabel-a-mlp", "extract-label", "digits:attacker", "mlp", 0.5, 0.85, "derived"),
]


def _zoo(root: Path, name: str) -> Path:
    """A stress zoo's two files the script reads: ``zoo.toml`` (the thieves' recipes, a source without one) and
    ``checks.csv``."""
    folder = root / f"fresh-seed-{name}"
    folder.mkdir()
    models = ['[[models]]\nid = "src-a"\n']
    models += [f'[[models]]\nid = "{m}"\n[models.recipe]\nbudget = {b}\n' for m, *_, b, _, _ in THIEVES]
    (folder / "zoo.toml").write_text(f'name = "gifviz-stress-{name}"\n' + "".join(models))
    checks = [("src-a", 1.0)] + [(m, a) for m, *_, a, _ in THIEVES]
    pd.DataFrame(checks, columns=["model", "agreement_test"]).to_csv(folder / "checks.csv", index=False)
    return folder / "zoo.toml"


def _report(root: Path, zoo: Path) -> Path:
    folder = root / "audit-seeds-1-1"
    folder.mkdir()
    (folder / "selection.json").write_text(json.dumps({"command": f"python audit_selection.py {zoo} --n-refs 8"}))
    rows = [
        {"zoo": "gifviz-stress-1", "source": "src-a", "fusion": fusion, "group": group, "model": m}
        | {"architecture": arch, "queried": queried, "verdict": v if fusion == "by-attack" else "derived"}
        for m, group, queried, arch, _, _, v in THIEVES
        for fusion in ("by-attack", "stouffer")
    ]
    pd.DataFrame(rows).to_csv(folder / "verdicts_by_model.csv", index=False)
    return folder


def test_each_thief_is_read_with_its_budget_and_agreement_under_the_fusion_asked(tmp_path):
    report = _report(tmp_path, _zoo(tmp_path, "1"))
    thieves = thief_misses.thief_verdicts([report], None).set_index("model")
    # the source, without a recipe's budget, is no thief; the label thief that queried digits is of neither kind
    assert sorted(thieves.index) == sorted(m for m, *_ in THIEVES if m != "xlabel-a-mlp")
    assert thieves.loc["xnat-a-mlp", "kind"] == "natural-image label thieves"
    assert thieves.loc["xprob-a-mlp", ["mlp", "budget", "agreement", "verdict"]].tolist() == [
        True,
        0.25,
        0.62,
        "independent",
    ]
    by_budget = thief_misses.derived_table(thieves.reset_index(), "budget")
    assert by_budget.loc[("probability thieves", "MLP"), 0.25] == "0 of 1"
    assert by_budget.loc[("probability thieves", "other"), 1.0] == "1 of 1"
    other_fusion = thief_misses.thief_verdicts([report], None, "stouffer")
    assert (other_fusion["verdict"] == "derived").all()


def test_a_band_holds_its_lower_edge_and_the_last_holds_1():
    bands = thief_misses.agreement_bands(pd.Series([0.0, 0.2, 0.62, 0.9, 0.98, 1.0]))
    assert bands.astype(str).tolist() == ["0.0-0.2", "0.2-0.3", "0.5-0.7", "0.9-1.0", "0.9-1.0", "0.9-1.0"]


def test_zoos_moved_elsewhere_are_found_by_folder_name_and_a_missing_one_is_one_line(tmp_path, capsys):
    zoo = _zoo(tmp_path, "1")
    report = _report(tmp_path, Path("/nowhere/fresh-seed-1/zoo.toml"))
    assert thief_misses.main([str(report), "--zoos", str(zoo.parent.parent)]) == 0
    printed = capsys.readouterr().out
    assert "1 zoos, fusion by-attack" in printed
    by_agreement = printed.split("by agreement")[1].split("agreement with the source, median")[0]
    assert "0.5-0.7" in by_agreement and "0 of 1" in by_agreement  # the MLP probability thief at 0.62, missed
    assert thief_misses.main([str(report)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "/nowhere/fresh-seed-1/zoo.toml" in error and "--zoos" in error
    assert thief_misses.main([str(tmp_path / "elsewhere")]) == 2
    assert "no selection.json in" in capsys.readouterr().err


def test_a_thief_the_zoos_read_do_not_hold_is_named_not_dropped(tmp_path):
    report = _report(tmp_path, _zoo(tmp_path, "1"))
    verdicts = pd.read_csv(report / "verdicts_by_model.csv")
    stray = verdicts.iloc[:1].assign(model="xprob-a-resnet_tiny")
    pd.concat([verdicts, stray]).to_csv(report / "verdicts_by_model.csv", index=False)
    with pytest.raises(ValueError, match="'xprob-a-resnet_tiny' of gifviz-stress-1 has no query budget"):
        thief_misses.thief_verdicts([report], None)
