"""``benchmarks/report_sets.py``: several report sets of one audit read together (the figures the README cites over
every report zoo)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark

report_sets = load_benchmark("report_sets")


def _report(folder: Path, zoos: dict[str, float], innocent: list[str]) -> Path:
    """A minimal audit_selection output: ``zoos`` maps a zoo to its probability-thief AUC; ``innocent`` the shipped
    fusion's verdicts of innocent models (in the first zoo)."""
    folder.mkdir()
    rows = []
    for zoo, auc in zoos.items():
        rows.append({"zoo": zoo, "manifest": "", "category": "extract-prob", "column": "fusion:by-attack", "auc": auc})
        rows.append({"zoo": zoo, "manifest": "", "category": "extract-prob", "column": "modelgif", "auc": 0.5})
        rows.append({"zoo": zoo, "manifest": "", "category": "finetune", "column": "fusion:by-attack", "auc": 1.0})
    pd.DataFrame(rows).to_csv(folder / "selection.csv", index=False)
    first = next(iter(zoos))
    verdicts = [
        {
            "zoo": first,
            "source": "s",
            "fusion": "by-attack",
            "group": "innocent, same task",
            "model": f"m{i}",
            "architecture": "mlp",
            "queried": "",
            "verdict": verdict,
        }
        for i, verdict in enumerate(innocent)
    ]
    verdicts.append(
        {
            "zoo": first,
            "source": "s",
            "fusion": "stouffer",
            "group": "innocent, same task",
            "model": "m0",
            "architecture": "mlp",
            "queried": "",
            "verdict": "derived",
        }
    )
    pd.DataFrame(verdicts).to_csv(folder / "verdicts_by_model.csv", index=False)
    return folder


def test_pools_every_zoo_of_every_folder(tmp_path: Path) -> None:
    first = _report(tmp_path / "a", {"z1": 0.99, "z2": 0.93}, ["derived", "independent"])
    second = _report(tmp_path / "b", {"z3": 0.97}, ["inconclusive", "derived", "derived"])
    table = report_sets.pooled_aucs([first, second])
    prob = table.loc["extract-prob"]
    assert prob["zoos"] == 3
    assert prob["mean"] == pytest.approx((0.99 + 0.93 + 0.97) / 3)
    assert (prob["worst"], prob["worst zoo"], prob["at goal"]) == (0.93, "z2", 2)
    assert table.loc["finetune", "at goal"] == 3
    # only the shipped fusion's verdicts count (the stouffer row would add one)
    assert report_sets.innocent_derived(first) == (1, 2)
    assert report_sets.innocent_derived(second) == (2, 3)


def test_a_zoo_in_two_folders_is_refused(tmp_path: Path, capsys) -> None:
    first = _report(tmp_path / "a", {"z1": 0.99}, ["independent"])
    again = _report(tmp_path / "b", {"z1": 0.99}, ["independent"])
    assert report_sets.main([str(first), str(again)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "z1 is scored in both" in err


def test_a_folder_without_results_is_one_line(tmp_path: Path, capsys) -> None:
    assert report_sets.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no selection.csv" in err


def test_the_readme_figures_over_the_committed_report_sets(capsys) -> None:
    """The trust bullet's figures over seeds 217-248 come out of the committed results."""
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    folders = [results / f"audit-seeds-{seeds}" for seeds in ("217-224", "225-232", "233-240", "241-248")]
    assert report_sets.main([str(f) for f in folders]) == 0
    out = capsys.readouterr().out
    assert "extract-prob                     0.986 / 0.944 (gifviz-stress-229), 31 of 32" in out
    assert "extract-label [natural]          0.986 / 0.911 (gifviz-stress-248), 28 of 32" in out
    assert "in all: 25 of 1088 (2.3%)" in out


def test_the_table_has_the_audit_then_each_method(tmp_path: Path) -> None:
    first = _report(tmp_path / "a", {"z1": 0.99, "z2": 0.93}, ["independent"])
    table = report_sets.method_table([first]).splitlines()
    assert table[0].startswith("| AUC, mean / worst over 2 zoos | finetune |")
    assert table[2].startswith("| **combined (by-attack)** | 1.00 / 1.00 |")
    assert "0.96 / 0.93" in table[2]
    assert table[3] == "| modelgif | n/a | n/a | n/a | 0.50 / 0.50 | n/a | n/a | n/a |"
    assert len(table) == 4


def test_per_set_rows_hold_each_sets_worst_case(tmp_path: Path) -> None:
    first = _report(tmp_path / "a", {"z1": 0.99, "z2": 0.93}, ["derived", "independent"])
    second = _report(tmp_path / "b", {"z3": 0.97}, ["independent"])
    rows = report_sets.per_set_table([first, second]).splitlines()
    assert rows[0].startswith("| report set | finetune | prune | transfer | extract-prob |")
    assert rows[2] == "| a | 1.000 | n/a | n/a | 0.930 | n/a | n/a | n/a | 1 of 2 |"
    assert rows[3] == "| b | 1.000 | n/a | n/a | 0.970 | n/a | n/a | n/a | 0 of 1 |"
