"""Round twenty-four's design: twenty candidate audits (each fusion with and without source crops) over 40 seen zoos.

Reads the ``selection.csv`` and ``verdicts.csv`` of the five runs without source crops on seeds 161-200 (the audit
before round twenty-three) and of the three runs with them on the same zoos (round twenty-two's two, round
twenty-three's report), and prints, per candidate: the criterion of
``audit_selection.py`` (``mean_worst_case``: the mean over the five categories of the worst-case AUC across zoos) over
the 32 zoos and over each half, each category's worst case, and the innocent readings of both tasks it calls
``derived``. No model runs.

    python benchmarks/results/round-twenty-four/choose.py
"""

from __future__ import annotations

import json
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
        "round-twenty-three/previous-audit",
    ),
    "with source crops": ("round-twenty-two/design", "round-twenty-two/report", "round-twenty-three/report"),
}
SHIPPED = ("by-attack", "with source crops")
HALVES = {"161-180": range(161, 181), "181-200": range(181, 201)}
ZOOS = 40
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
    assert zoos[0] == zoos[1] and len(zoos[0]) == ZOOS, [len(z) for z in zoos]  # the same zoos, each read once
    # each run with source crops also printed its own default fusion without them (``combined without
    # source-crops``: fitted-weights in round twenty-two, by-attack in round twenty-three), which the runs without
    # source crops print as that fusion's column: the two readings must agree cell for cell
    plain = selections["without source crops"].set_index(["zoo", "category", "column"])["auc"]
    checked, gap = 0, 0.0
    for run in RUNS["with source crops"]:
        fusion = json.loads((RESULTS / run / "selection.json").read_text())["verdicts_printed_for"]
        beside = pd.read_csv(RESULTS / run / "selection.csv")
        beside = beside[beside["column"] == "combined without source-crops"]
        index = pd.MultiIndex.from_arrays([beside["zoo"], beside["category"], [f"fusion:{fusion}"] * len(beside)])
        gap = max(gap, float((beside["auc"].to_numpy() - plain.reindex(index).to_numpy()).__abs__().max()))
        checked += len(beside)
    print(f"each run's default fusion without source crops, read both ways: {checked} cells, largest gap {gap}")
    rows = []
    for side, selection in selections.items():
        categories = main_categories(selection)
        for fusion in FUSIONS:
            column = f"fusion:{fusion}"
            cells = categories[categories["column"] == column]
            assert cells.groupby("category")["zoo"].nunique().eq(ZOOS).all()  # every category read on every zoo
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
