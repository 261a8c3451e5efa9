"""Round twenty-three's design: twenty candidate audits (each fusion with and without source crops) over 32 seen zoos.

Reads the ``selection.csv`` and ``verdicts.csv`` of the shipped audit's four runs on seeds 161-192 (without source
crops) and of round twenty-two's two runs on the same zoos (with them), and prints, per candidate: the criterion of
``audit_selection.py`` (``mean_worst_case``: the mean over the five categories of the worst-case AUC across zoos) over
the 32 zoos and over each half, each category's worst case, and the innocent readings of both tasks it calls
``derived``. No model runs.

    python benchmarks/results/round-twenty-three/choose.py
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the criterion of audit_selection.py

from fusion_candidates import FusionRound, choose  # noqa: E402

DESIGN = FusionRound(
    runs={
        "without source crops": tuple(f"audit-seeds-{first}-{first + 7}" for first in range(161, 193, 8)),
        "with source crops": ("round-twenty-two/design", "round-twenty-two/report"),
    },
    shipped=("fitted-weights", "without source crops"),
    halves={"161-176": range(161, 177), "177-192": range(177, 193)},
    zoos=32,
)


def shipped_cells_read_twice(selections: Mapping[str, pd.DataFrame]) -> str:
    """Round twenty-two's runs printed the shipped audit as ``combined without source-crops``: it must equal the
    shipped runs' ``fusion:fitted-weights`` cell for cell."""
    shipped = selections["without source crops"]
    shipped = shipped[shipped["column"] == "fusion:fitted-weights"].set_index(["zoo", "category"])["auc"]
    beside = selections["with source crops"]
    beside = beside[beside["column"] == "combined without source-crops"].set_index(["zoo", "category"])["auc"]
    gap = (shipped - beside.reindex(shipped.index)).abs().max()
    assert len(beside) == len(shipped) and gap < 1e-12, (len(beside), len(shipped), gap)
    return f"the shipped audit's cells in round twenty-two's runs: {len(beside)} of {len(shipped)}, largest gap {gap}"


def main() -> None:
    choose(DESIGN, RESULTS, shipped_cells_read_twice)


if __name__ == "__main__":
    main()
