"""Round twenty-four's design: the twenty candidates of round twenty-three again, now over 40 seen zoos (161-200).

The side without source crops adds round twenty-three's ``previous-audit`` (seeds 193-200) to that round's four
runs, the side with them its ``report``; ``fusion_candidates.candidate_table`` gives each candidate's criterion over
all 40 zoos and the halves 161-180 and 181-200, its worst cases and its innocent readings ``derived``. Before that, a
check: each run with source crops printed its own default fusion without them, which must equal that fusion's
column on the other side. No model runs.

    python benchmarks/results/round-twenty-four/choose.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the criterion of audit_selection.py

from fusion_candidates import FusionRound, choose  # noqa: E402

# the audit before round twenty-three on each report set of seeds 161-200, and the runs with source crops
DESIGN = FusionRound(
    runs={
        "without source crops": (
            *(f"audit-seeds-{first}-{first + 7}" for first in range(161, 193, 8)),
            "round-twenty-three/previous-audit",
        ),
        "with source crops": ("round-twenty-two/design", "round-twenty-two/report", "round-twenty-three/report"),
    },
    shipped=("by-attack", "with source crops"),
    halves={"161-180": range(161, 181), "181-200": range(181, 201)},
    zoos=40,
)


def defaults_read_twice(selections: Mapping[str, pd.DataFrame]) -> str:
    """Each run with source crops printed its own default fusion without them (``combined without source-crops``:
    fitted-weights in round twenty-two, by-attack in round twenty-three); the runs without print it as that fusion's
    column: the two readings must agree cell for cell."""
    plain = selections["without source crops"].set_index(["zoo", "category", "column"])["auc"]
    checked, gap = 0, 0.0
    for run in DESIGN.runs["with source crops"]:
        fusion = json.loads((RESULTS / run / "selection.json").read_text())["verdicts_printed_for"]
        beside = pd.read_csv(RESULTS / run / "selection.csv")
        beside = beside[beside["column"] == "combined without source-crops"]
        index = pd.MultiIndex.from_arrays([beside["zoo"], beside["category"], [f"fusion:{fusion}"] * len(beside)])
        other = plain.reindex(index).to_numpy()
        assert not pd.isna(other).any(), f"{run}: a cell of its default fusion is missing on the other side"
        gap = max(gap, float(abs(beside["auc"].to_numpy() - other).max()))
        checked += len(beside)
    assert gap < 1e-12, gap
    return f"each run's default fusion without source crops, read both ways: {checked} cells, largest gap {gap}"


def main() -> None:
    choose(DESIGN, RESULTS, defaults_read_twice)


if __name__ == "__main__":
    main()
