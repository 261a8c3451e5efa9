"""Round twenty-one's design: each fusion's criterion and innocent readings ``derived`` over the 48 seen zoos.

Reads the ``selection.csv`` and ``verdicts.csv`` of four runs of ``benchmarks/audit_selection.py`` under one code (the
folders below) and prints, per fusion of ``gifviz.audit.fusion.FUSIONS``: the mean over the five categories of the
worst-case AUC across every zoo (the criterion of ``audit_selection.py``, pooled over the runs), and the innocent
readings of both tasks it calls ``derived``. Pandas only; no model runs.

    python benchmarks/results/round-twenty-one/choose.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
RUNS = ("round-eighteen/design", "audit-seeds-153-160", "audit-seeds-161-168", "audit-seeds-169-176")
CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob", "transfer")
INNOCENT = ("innocent, same task", "innocent, other task")


def main() -> None:
    selection = pd.concat([pd.read_csv(RESULTS / run / "selection.csv") for run in RUNS], ignore_index=True)
    zoos = selection["zoo"].unique()
    per_run = [pd.read_csv(RESULTS / run / "selection.csv")["zoo"].nunique() for run in RUNS]
    assert len(zoos) == sum(per_run) == 48, (len(zoos), per_run)  # 48 distinct zoos, none read twice
    verdicts = pd.concat([pd.read_csv(RESULTS / run / "verdicts.csv") for run in RUNS], ignore_index=True)
    fusions = [c.removeprefix("fusion:") for c in selection["column"].unique() if c.startswith("fusion:")]
    rows = []
    for fusion in fusions:
        cells = selection[(selection["column"] == f"fusion:{fusion}") & selection["category"].isin(CATEGORIES)]
        worst = cells.groupby("category")["auc"].min()
        assert set(worst.index) == set(CATEGORIES) and cells.groupby("category")["zoo"].nunique().eq(48).all()
        innocent = verdicts[(verdicts["fusion"] == fusion) & verdicts["group"].isin(INNOCENT)]
        counts = innocent[["derived", "independent", "inconclusive", "n/a"]].to_numpy().sum(axis=0)
        rows.append(
            {
                "fusion": fusion,
                "criterion": worst.mean(),
                **{f"worst {c}": worst[c] for c in CATEGORIES},
                "innocent derived": int(counts[0]),
                "innocent readings": int(counts.sum()),
            }
        )
    table = pd.DataFrame(rows).sort_values("criterion", ascending=False).set_index("fusion")
    pd.set_option("display.width", 200)
    print(f"{len(zoos)} zoos from {', '.join(RUNS)}")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    best, shipped = table.index[0], table.loc["fitted-weights"]
    print(
        f"highest criterion: {best} {table.loc[best, 'criterion']:.5f}; fitted-weights {shipped['criterion']:.5f}; "
        f"difference {table.loc[best, 'criterion'] - shipped['criterion']:+.5f}"
    )


if __name__ == "__main__":
    main()
