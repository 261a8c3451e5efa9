"""Round twenty-eight's design: ``off-task-kappa`` in place of off-task disagreement, against the shipped audit, on the
16 seen zoos of seeds 217-232.

Reads the ``readings.csv`` and ``fused_null.csv`` of the two design runs (both methods among the ten; no model
runs), recomputes both audits with ``by-attack`` scored by its fused statistic, checks each against its run's own
``combined without ...`` cells, and prints the declared criterion (fine-tuning, pruning, label-only thieves that
queried natural images, probability extraction), the same over each half, the criterion as rounds twenty-three to
twenty-seven read it (label extraction pooled), each category's worst case and the innocent readings of the source's
task called ``derived`` (``DECLARED.md`` has the rule).

    python benchmarks/results/round-twenty-eight/design.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # benchmarks/, for the readings of fit_fusion_weights.py

import fit_fusion_weights as fit  # noqa: E402
import fusion_candidates as candidates  # noqa: E402

from gifviz.audit.fusion import FUSED_SPREAD_FLOORS  # noqa: E402

RUNS = ("design-217-224", "design-225-232")
ZOOS = 16
HALVES = {"217-224": range(217, 225), "225-232": range(225, 233)}
NATURAL, DIGITS = fit.NATURAL, fit.DIGITS
DECLARED = ("finetune", "prune", NATURAL, "extract-prob")  # the declared criterion's categories
SHOWN = (*DECLARED, "extract-label", DIGITS)
# each audit, and the method it leaves out of the ten
AUDITS = {"shipped (off-task)": "off-task-kappa", "candidate (off-task-kappa)": "off-task"}


def by_attack(readings: fit.Readings, methods: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``by-attack``'s statistic over ``methods`` for the models ``(M,)`` and their null members ``(N,)``."""
    groups = fit.by_attack_hypotheses(methods)
    with warnings.catch_warnings():  # a model no aimed method reads has NaN hypotheses but the first
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.nanmax(fit.stouffer_by_group(f, groups), axis=1) for f in (readings.models, readings.members))


def criterion(
    models: pd.DataFrame, score: np.ndarray, keep: np.ndarray | None = None, categories: tuple[str, ...] = DECLARED
) -> float:
    """The mean over ``categories`` of each one's worst-case AUC across the zoos (of the rows ``keep`` only)."""
    if keep is not None:
        models, score = models[keep].reset_index(drop=True), score[keep]
    return float(np.mean(list(fit.worst_aucs(models, score, categories).values())))


def main() -> None:
    files = [[str(HERE / run / f"{name}.csv.gz") for run in RUNS] for name in ("readings", "fused_null")]
    readings = fit.load_readings(*files)
    assert readings.models["zoo"].nunique() == ZOOS, readings.models["zoo"].nunique()
    assert {"off-task", "off-task-kappa"} <= set(readings.methods), readings.methods
    cells = pd.concat([pd.read_csv(HERE / run / "selection.csv") for run in RUNS])
    models = fit.with_label_kinds(readings.models)
    seeds = models["zoo"].map(candidates.seed).to_numpy()
    innocent = (readings.models["group"] == fit.INNOCENT).to_numpy()
    rows = []
    for name, left_out in AUDITS.items():
        methods = [m for m in readings.methods if m != left_out]
        statistic, null = by_attack(readings, methods)
        read = fit.read_against_null(readings, statistic, null, FUSED_SPREAD_FLOORS["by-attack"], "fused")
        score = read["score"].to_numpy()
        score = np.r_[score, score[(readings.models["group"] == "extract-label").to_numpy()]]  # with_label_kinds' order
        own = cells[cells["column"] == f"combined without {left_out}"]
        assert len(own) and np.isfinite(own["auc"]).all(), f"no finite cells of combined without {left_out}"
        gap = 0.0
        for (zoo, category), auc in own.set_index(["zoo", "category"])["auc"].items():
            if category.startswith("transfer") or category == "extract-prob [digits:attacker]":
                continue  # not read here (transfer: other models; the second name of extract-prob is the same)
            keep = (models["zoo"] == zoo).to_numpy()
            mine = fit.worst_aucs(models[keep].reset_index(drop=True), score[keep], (category,))[category]
            assert np.isfinite(mine), (zoo, category)
            gap = max(gap, abs(mine - auc))
        assert gap < 1e-9, (name, gap)
        print(f"{name}: recomputed from the readings, every zoo's AUC within {gap:.1e} of the run's own cells")
        worst = fit.worst_aucs(models, score, SHOWN)

        rows.append(
            {
                "audit": name,
                "criterion": criterion(models, score),
                **{f"half {h}": criterion(models, score, np.isin(seeds, list(r))) for h, r in HALVES.items()},
                "criterion, label pooled": criterion(models, score, categories=fit.CATEGORIES),
                **{f"worst {c}": worst[c] for c in SHOWN},
                "innocent derived": int((read["verdict"].to_numpy()[innocent] == "derived").sum()),
                "innocent readings": int(innocent.sum()),
            }
        )
    table = pd.DataFrame(rows).set_index("audit")
    print(f"{ZOOS} zoos (seeds 217-232): {', '.join(RUNS)}; criterion over {', '.join(DECLARED)}")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.T.to_string(float_format=lambda x: f"{x:.4f}"))
    print(fit.difference_line(table, {h: f"half {h}" for h in HALVES}))
    base, lead = table.iloc[0], table.iloc[1]
    pooled = lead["criterion, label pooled"] - base["criterion, label pooled"]
    print(f"candidate minus shipped, criterion with label extraction pooled: {pooled:+.5f}")


if __name__ == "__main__":
    main()
