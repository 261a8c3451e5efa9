"""Round twenty-one's design: each fusion's criterion and innocent readings ``derived`` over the 48 seen zoos.

Reads the ``selection.csv`` and ``verdicts.csv`` of four runs of ``benchmarks/audit_selection.py`` under one code (the
folders below) and prints, per fusion of ``gifviz.audit.fusion.FUSIONS``: the mean over the five categories of the
worst-case AUC across every zoo (the criterion of ``audit_selection.py``, pooled over the runs), and the innocent
readings of both tasks it calls ``derived``. The criterion is ``audit_selection.mean_worst_case`` itself, read on the
pooled table; no model runs.

    python benchmarks/results/round-twenty-one/choose.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the criterion of audit_selection.py

from audit_selection import main_categories, mean_worst_case  # noqa: E402

from gifviz.audit.fusion import FUSIONS  # noqa: E402

RUNS = ("round-eighteen/design", "audit-seeds-153-160", "audit-seeds-161-168", "audit-seeds-169-176")
INNOCENT = ("innocent, same task", "innocent, other task")


def main() -> None:
    selections = [pd.read_csv(RESULTS / run / "selection.csv") for run in RUNS]
    selection = pd.concat(selections, ignore_index=True)
    zoos = selection["zoo"].unique()
    per_run = [frame["zoo"].nunique() for frame in selections]
    assert len(zoos) == sum(per_run) == 48, (len(zoos), per_run)  # 48 distinct zoos, none read twice
    verdicts = pd.concat([pd.read_csv(RESULTS / run / "verdicts.csv") for run in RUNS], ignore_index=True)
    categories = main_categories(selection)
    rows = []
    for fusion in FUSIONS:
        cells = categories[categories["column"] == f"fusion:{fusion}"]
        assert cells.groupby("category")["zoo"].nunique().eq(48).all()  # every category read on every zoo
        worst = cells.fillna({"auc": 0.0}).groupby("category")["auc"].min()  # NaN counts 0, as in the criterion
        innocent = verdicts[(verdicts["fusion"] == fusion) & verdicts["group"].isin(INNOCENT)]
        counts = innocent[["derived", "independent", "inconclusive", "n/a"]].to_numpy().sum(axis=0)
        rows.append(
            {
                "fusion": fusion,
                "criterion": mean_worst_case(selection, f"fusion:{fusion}"),
                **{f"worst {c}": worst[c] for c in ("finetune", "prune", "extract-label", "extract-prob", "transfer")},
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
