"""Round twenty-five's design: ``by-attack`` against ``by-attack-standardized`` on the 48 seen zoos of seeds 161-208.

Reads the ``readings.csv`` and ``fused_null.csv`` of the four runs with source crops among the methods (no model
runs), recomputes each model's ``combined`` under both fusions as the audit reads it (the fused statistic against its
null members' fused statistics: ``fit_fusion_weights.read_against_null``), checks the recomputed ``by-attack``
against the audit's own ``combined`` scores in the two runs that fused with it, and prints the criterion over the four
categories whose ``combined`` fuses several methods, over each half of the zoos, each category's worst case, and the
innocent readings of the source's task called ``derived``.

    python benchmarks/results/round-twenty-five/design.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the readings of fit_fusion_weights.py

from fit_fusion_weights import (  # noqa: E402
    CATEGORIES,
    INNOCENT,
    audit_gap,
    by_attack_hypotheses,
    criterion_over,
    difference_line,
    load_readings,
    read_against_null,
    stouffer_by_group,
    worst_aucs,
)
from fusion_candidates import WITH_CROPS_161_208, seed  # noqa: E402

from gifviz.audit.fusion import FUSED_SPREAD_FLOORS  # noqa: E402

RUNS = WITH_CROPS_161_208
HALVES = {"161-184": range(161, 185), "185-208": range(185, 209)}
FLOOR = FUSED_SPREAD_FLOORS["by-attack"]  # the first stage's floor of each hypothesis's spread, and the second's
ZOOS = 48


def hypotheses(frame: pd.DataFrame, methods: list[str]) -> np.ndarray:
    """Stouffer's z ``(R, H)`` of each row over every method and over each group of ``ATTACK_EVIDENCE`` (NaN where
    none of a hypothesis's methods can compare the row)."""
    return stouffer_by_group(frame, by_attack_hypotheses(methods))


def by_attack(models: np.ndarray, members: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shipped fusion: the largest hypothesis, for models ``(M,)`` and members ``(N,)``."""
    return np.nanmax(models, axis=1), np.nanmax(members, axis=1)


def standardized(models: np.ndarray, members: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate: each hypothesis read against the model's null members' values of it (mean, spread floored at
    :data:`FLOOR`), then the largest; each member against the same mean and spread."""
    m = len(models)
    nulled = np.bincount(row, minlength=m)
    means, spreads = [], []
    for k in range(models.shape[1]):
        values = members[:, k]
        present = ~np.isnan(values)
        counts = np.bincount(row[present], minlength=m).astype(float)
        # a model read by a hypothesis, with a null, has members read by it too (they carry the model's methods)
        assert (counts[~np.isnan(models[:, k]) & (nulled > 0)] >= 2).all()
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.bincount(row[present], values[present], minlength=m) / counts
            var = np.bincount(row[present], (values[present] - mu[row[present]]) ** 2, minlength=m) / (counts - 1)
        means.append(mu)
        spreads.append(np.maximum(np.nan_to_num(np.sqrt(var)), FLOOR))
    mean, spread = np.stack(means, axis=1), np.stack(spreads, axis=1)
    with np.errstate(invalid="ignore"):
        model_values = (models - mean) / spread
        member_values = (members - mean[row]) / spread[row]
    return np.nanmax(model_values, axis=1), np.nanmax(member_values, axis=1)


def main() -> None:
    files = [[RESULTS / run / f"{name}.csv.gz" for run in RUNS] for name in ("readings", "fused_null")]
    readings = load_readings([str(p) for p in files[0]], [str(p) for p in files[1]])
    models, members = readings.models, readings.members
    assert models["zoo"].nunique() == ZOOS, models["zoo"].nunique()
    row = members["row"].to_numpy()
    h_models, h_members = hypotheses(models, readings.methods), hypotheses(members, readings.methods)
    shipped_runs = [
        run
        for run in RUNS
        if json.loads((RESULTS / run / "selection.json").read_text())["verdicts_printed_for"] == "by-attack"
    ]
    rows = []
    for name, fusion in (("by-attack (shipped)", by_attack), ("by-attack-standardized", standardized)):
        statistic, null = fusion(h_models, h_members, row)
        read = read_against_null(readings, statistic, null, FLOOR, reading="calibrated")  # the audit of its time
        scores = read["score"].to_numpy()
        if fusion is by_attack:
            zoos = set()
            for run in shipped_runs:
                zoos |= set(pd.read_csv(RESULTS / run / "selection.csv")["zoo"])
            gap, count = audit_gap(models, scores, zoos)  # asserts the same missing scores
            print(
                f"by-attack recomputed on the {len(zoos)} zoos of {', '.join(shipped_runs)}: {count} readings, "
                f"largest gap to the audit's combined score {gap:.2e}, the same missing scores: True"
            )
        worst = worst_aucs(models, scores)
        halves = {}
        for half, seeds in HALVES.items():
            halves[f"criterion {half}"] = criterion_over(models, scores, models["zoo"].map(seed).isin(seeds).to_numpy())
        innocent = (models["group"] == INNOCENT).to_numpy()
        rows.append(
            {
                "fusion": name,
                "criterion": float(np.mean(list(worst.values()))),
                **halves,
                **{f"worst {c}": worst[c] for c in CATEGORIES},
                "innocent derived": int((read["verdict"].to_numpy()[innocent] == "derived").sum()),
                "innocent readings": int(innocent.sum()),
            }
        )
    table = pd.DataFrame(rows).set_index("fusion")
    print(f"{ZOOS} zoos: {', '.join(RUNS)}; criterion over {', '.join(CATEGORIES)}")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    print(difference_line(table, {h: f"criterion {h}" for h in HALVES}))


if __name__ == "__main__":
    main()
