"""Round twenty-seven's design: ``fitted-weights`` against the shipped ``by-attack``, both scored by the fused
statistic, without source crops, on the 64 seen zoos of seeds 161-224.

Reads the ``readings.csv`` and ``fused_null.csv`` of the runs on seeds 161-224 (no model runs), recomputes both
fusions as the audit reads them, checks the recomputed ``by-attack`` against the audit's own ``combined`` on seeds
217-224 (the run that fused with it this way) and the recomputed ``fitted-weights`` against that run's own worst
cases, and prints the criterion over the four categories whose ``combined`` fuses several methods, over each half,
the mean over the eight 8-zoo sets, each category's worst case and the innocent readings of the source's task called
``derived`` (``DECLARED.md`` has the rule).

    python benchmarks/results/round-twenty-seven/design.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the readings of fit_fusion_weights.py

import fit_fusion_weights as fit  # noqa: E402
import fusion_candidates as candidates  # noqa: E402

from gifviz.audit.fusion import FUSED_SPREAD_FLOORS  # noqa: E402
from gifviz.audit.names import FITTED_WEIGHTS, SOURCE_CROPS  # noqa: E402

RUNS = (*candidates.WITH_CROPS_161_208, "audit-seeds-209-216", "audit-seeds-217-224")
REPORT = "audit-seeds-217-224"  # the run that fused with by-attack and scored combined by its fused statistic
ZOOS = 64
SETS = [range(first, first + 8) for first in range(161, 225, 8)]
HALVES = {"161-192": range(161, 193), "193-224": range(193, 225)}


def fusions(readings: fit.Readings) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each fusion's statistic for the models ``(M,)`` and for their null members ``(N,)``, source crops left out."""
    methods = [m for m in readings.methods if m != SOURCE_CROPS]
    groups = fit.by_attack_hypotheses(methods)
    with warnings.catch_warnings():  # a model no aimed method reads has NaN hypotheses but the first
        warnings.simplefilter("ignore", RuntimeWarning)
        by_attack = [np.nanmax(fit.stouffer_by_group(f, groups), axis=1) for f in (readings.models, readings.members)]
    weighted = [fit.fused(f, methods, FITTED_WEIGHTS) for f in (readings.models, readings.members)]
    return {"by-attack (shipped)": tuple(by_attack), "fitted-weights": tuple(weighted)}


def main() -> None:
    files = [[str(RESULTS / run / f"{name}.csv.gz") for run in RUNS] for name in ("readings", "fused_null")]
    readings = fit.load_readings(*files)
    models = readings.models
    assert models["zoo"].nunique() == ZOOS, models["zoo"].nunique()
    seeds = models["zoo"].map(candidates.seed).to_numpy()
    report_zoos = set(pd.read_csv(RESULTS / REPORT / "selection.csv")["zoo"])
    in_report = models["zoo"].isin(report_zoos).to_numpy()
    innocent = (models["group"] == fit.INNOCENT).to_numpy()
    rows = []
    for name, (statistic, null) in fusions(readings).items():
        read = fit.read_against_null(readings, statistic, null, FUSED_SPREAD_FLOORS["by-attack"], "fused")
        score = read["score"].to_numpy()
        if name.startswith("by-attack"):
            gap, count = fit.audit_gap(models, score, report_zoos)  # asserts the same missing scores
            print(
                f"by-attack recomputed on the {len(report_zoos)} zoos of {REPORT}: {count} readings, largest gap to "
                f"the audit's combined score {gap:.2e}, the same missing scores: True"
            )
        else:  # that run printed fitted-weights's AUCs: its worst cases there are the recomputed ones
            cells = pd.read_csv(RESULTS / REPORT / "selection.csv")
            cells = cells[cells["column"] == "fusion:fitted-weights"].groupby("category")["auc"].min()
            mine = fit.worst_aucs(models[in_report].reset_index(drop=True), score[in_report])
            assert all(abs(mine[c] - cells[c]) < 1e-9 for c in fit.CATEGORIES), (mine, cells.to_dict())
            print(f"fitted-weights recomputed on the {len(report_zoos)} zoos of {REPORT}: its worst cases there")
        worst = fit.worst_aucs(models, score)
        rows.append(
            {
                "fusion": name,
                "criterion": fit.criterion_over(models, score),
                **{f"half {h}": fit.criterion_over(models, score, np.isin(seeds, list(r))) for h, r in HALVES.items()},
                "mean of 8-zoo sets": float(
                    np.mean([fit.criterion_over(models, score, np.isin(seeds, list(r))) for r in SETS])
                ),
                **{f"worst {c}": worst[c] for c in fit.CATEGORIES},
                "innocent derived": int((read["verdict"].to_numpy()[innocent] == "derived").sum()),
                "innocent readings": int(innocent.sum()),
            }
        )
    table = pd.DataFrame(rows).set_index("fusion")
    print(f"{ZOOS} zoos (seeds 161-224): {', '.join(RUNS)}; source crops left out; criterion over "
          f"{', '.join(fit.CATEGORIES)}")  # fmt: skip
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    print(fit.difference_line(table, {h: f"half {h}" for h in HALVES}))


if __name__ == "__main__":
    main()
