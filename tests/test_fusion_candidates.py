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
    """The script as a module; it imports ``audit_selection`` from ``benchmarks/`` as the round scripts do. Both
    modules and the path are taken back afterwards."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(RESULTS.parent))
    try:
        yield load_benchmark("fusion_candidates")
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name in ("fusion_candidates", "audit_selection", "fit_fusion_weights"):
                del sys.modules[name]


@pytest.mark.parametrize("round_name", ["round-twenty-three", "round-twenty-four"])
def test_each_round_prints_the_table_it_committed(candidates, round_name, capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts benchmarks/ on the path; undone after
    runpy.run_path(str(RESULTS / round_name / "choose.py"), run_name="__main__")
    assert capsys.readouterr().out == (RESULTS / round_name / "choose.txt").read_text()


@pytest.mark.parametrize(
    "round_name", ["round-twenty-five", "round-twenty-six", "round-twenty-seven", "round-twenty-eight"]
)
def test_each_design_prints_the_figures_it_committed(candidates, round_name, capsys, monkeypatch):
    # the designs read committed readings only; what they print is what their DECLARED.md cites
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(RESULTS / round_name / "design.py"), run_name="__main__")
    assert capsys.readouterr().out == (RESULTS / round_name / "design.txt").read_text()


def test_sides_that_hold_other_zoos_or_a_zoo_twice_are_refused(candidates):
    with pytest.raises(AssertionError):
        candidates.read_sides(RESULTS, {"one": ("audit-seeds-201-208",), "other": ("audit-seeds-209-216",)}, 8)
    with pytest.raises(AssertionError, match="read twice"):
        candidates.read_sides(RESULTS, {"one": ("audit-seeds-209-216", "audit-seeds-209-216")}, 8)


def test_runs_that_scored_combined_differently_are_refused(candidates):
    # 217-224 was scored with round twenty-six's fused statistic, 209-216 before it: no side mixes the two
    assert candidates.recorded_combined_score(RESULTS / "audit-seeds-209-216") == "calibrated"
    assert candidates.recorded_combined_score(RESULTS / "audit-seeds-217-224") == "fused"
    with pytest.raises(AssertionError, match="read combined's score differently"):
        candidates.read_sides(RESULTS, {"one": ("audit-seeds-209-216", "audit-seeds-217-224")}, 16)


def test_the_table_reads_each_half_and_counts_innocent_readings(candidates):
    selections, verdicts = candidates.read_sides(RESULTS, {"with source crops": ("audit-seeds-209-216",)}, 8)
    shipped = ("by-attack", "with source crops")
    halves = {"209-212": range(209, 213), "213-216": range(213, 217)}
    table = candidates.candidate_table(selections, verdicts, 8, halves, shipped)
    assert len(table) == 10  # every fusion the run printed
    row = table.loc[shipped]
    assert row["criterion"] == pytest.approx(0.925, abs=5e-4)  # the report's printed criterion
    assert (row["innocent derived"], row["innocent readings"]) == (5, 272)
    # the probability thieves' worst zoo of the set is seed 213 (0.906): it sets the second half's worst case only
    assert row["worst extract-prob"] == pytest.approx(0.906, abs=5e-4)
    first = selections["with source crops"]
    first = first[first["zoo"].isin([f"gifviz-stress-{s}" for s in range(209, 213)])]
    by_zoo = first[(first["column"] == "fusion:by-attack") & (first["category"] == "extract-prob")]
    assert by_zoo["auc"].min() > 0.906 + 1e-3 and row["criterion 209-212"] > row["criterion 213-216"]
    with pytest.raises(AssertionError, match="half"):
        candidates.candidate_table(selections, verdicts, 8, {"none": range(1, 2)}, shipped)
