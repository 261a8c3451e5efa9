"""``benchmarks/fusion_candidates.py``: the decision table of the declared fusion rounds, from committed results."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from conftest import load_benchmark

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


@pytest.fixture(scope="module")
def candidates():
    sys.path.insert(0, str(RESULTS.parent))  # fusion_candidates imports audit_selection as the scripts do
    try:
        yield load_benchmark("fusion_candidates")
    finally:
        sys.path.remove(str(RESULTS.parent))


@pytest.mark.parametrize("round_name", ["round-twenty-three", "round-twenty-four"])
def test_each_round_prints_the_table_it_committed(candidates, round_name, capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts benchmarks/ on the path; undone after
    runpy.run_path(str(RESULTS / round_name / "choose.py"), run_name="__main__")
    assert capsys.readouterr().out == (RESULTS / round_name / "choose.txt").read_text()


def test_sides_that_hold_other_zoos_are_refused(candidates):
    runs = {"one side": ("audit-seeds-201-208",), "the other": ("audit-seeds-209-216",)}
    with pytest.raises(AssertionError):
        candidates.read_sides(RESULTS, runs, 8)


def test_the_table_ranks_the_candidates_and_counts_their_innocent_readings(candidates):
    selections, verdicts = candidates.read_sides(RESULTS, {"with source crops": ("audit-seeds-209-216",)}, 8)
    halves = {"209-212": range(209, 213), "213-216": range(213, 217)}
    table = candidates.candidate_table(selections, verdicts, 8, halves)
    assert table["criterion"].is_monotonic_decreasing and len(table) == 10
    shipped = table.loc[("by-attack", "with source crops")]
    assert round(shipped["criterion"], 3) == 0.925  # the report's printed criterion for the shipped fusion
    assert (shipped["innocent derived"], shipped["innocent readings"]) == (5, 272)
    assert min(shipped["criterion 209-212"], shipped["criterion 213-216"]) >= shipped["criterion"]
