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
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the criterion of audit_selection.py

from audit_selection import main_categories, mean_worst_case  # noqa: E402

from gifviz.audit.fusion import FUSIONS  # noqa: E402

RUNS = {
    "without source crops": (
        "audit-seeds-161-168",
        "audit-seeds-169-176",
        "audit-seeds-177-184",
        "audit-seeds-185-192",
    ),
    "with source crops": ("round-twenty-two/design", "round-twenty-two/report"),
}
SHIPPED = ("fitted-weights", "without source crops")
HALVES = {"161-176": range(161, 177), "177-192": range(177, 193)}
CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob", "transfer")
INNOCENT = ("innocent, same task", "innocent, other task")


def _read(runs: tuple[str, ...], name: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(RESULTS / run / name) for run in runs], ignore_index=True)


def _seed(zoo: str) -> int:
    return int(zoo.rsplit("-", 1)[1])


def main() -> None:
    selections = {side: _read(runs, "selection.csv") for side, runs in RUNS.items()}
    verdicts = {side: _read(runs, "verdicts.csv") for side, runs in RUNS.items()}
    zoos = [sorted(frame["zoo"].unique()) for frame in selections.values()]
    assert zoos[0] == zoos[1] and len(zoos[0]) == 32, [len(z) for z in zoos]  # the same 32 zoos, each read once
    shipped = selections["without source crops"]
    shipped = shipped[shipped["column"] == "fusion:fitted-weights"].set_index(["zoo", "category"])["auc"]
    beside = selections["with source crops"]
    beside = beside[beside["column"] == "combined without source-crops"].set_index(["zoo", "category"])["auc"]
    gap = (shipped - beside.reindex(shipped.index)).abs().max()
    print(f"the shipped audit's cells in round twenty-two's runs: {len(beside)} of {len(shipped)}, largest gap {gap}")
    rows = []
    for side, selection in selections.items():
        categories = main_categories(selection)
        for fusion in FUSIONS:
            column = f"fusion:{fusion}"
            cells = categories[categories["column"] == column]
            assert cells.groupby("category")["zoo"].nunique().eq(32).all()  # every category read on every zoo
            worst = cells.fillna({"auc": 0.0}).groupby("category")["auc"].min()  # NaN counts 0, as in the criterion
            halves = {
                f"criterion {half}": mean_worst_case(selection[selection["zoo"].map(_seed).isin(seeds)], column)
                for half, seeds in HALVES.items()
            }
            innocent = verdicts[side]
            innocent = innocent[(innocent["fusion"] == fusion) & innocent["group"].isin(INNOCENT)]
            counts = innocent[["derived", "independent", "inconclusive", "n/a"]].to_numpy().sum(axis=0)
            rows.append(
                {
                    "fusion": fusion,
                    "methods": side,
                    "criterion": mean_worst_case(selection, column),
                    **halves,
                    **{f"worst {c}": worst[c] for c in CATEGORIES},
                    "innocent derived": int(counts[0]),
                    "innocent readings": int(counts.sum()),
                }
            )
    table = pd.DataFrame(rows).sort_values("criterion", ascending=False).set_index(["fusion", "methods"])
    pd.set_option("display.width", 250)
    print(f"{len(zoos[0])} zoos: {', '.join(run for runs in RUNS.values() for run in runs)}")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    best, base = table.index[0], table.loc[SHIPPED]
    lead = table.loc[best]
    print(
        f"highest criterion: {best[0]} ({best[1]}) {lead['criterion']:.5f}; shipped {base['criterion']:.5f}; "
        f"difference {lead['criterion'] - base['criterion']:+.5f}; on the halves "
        + ", ".join(f"{half} {lead[f'criterion {half}'] - base[f'criterion {half}']:+.5f}" for half in HALVES)
        + f"; innocent derived {lead['innocent derived']} of {lead['innocent readings']} against "
        f"{base['innocent derived']} of {base['innocent readings']}"
    )


if __name__ == "__main__":
    main()
