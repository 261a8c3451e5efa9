"""Round twenty-six's design: how ``combined``'s score is read, and which methods it fuses, on the 56 seen zoos of
seeds 161-216.

Reads the ``readings.csv`` and ``fused_null.csv`` of the five runs with source crops among the methods (no model
runs) and recomputes, for every variant tried while the round was designed (the list in ``DECLARED.md``), each
model's ``combined`` as the audit reads it. A variant is a set of hypotheses (each Stouffer's z over a group of
methods; the fused statistic is the largest) and a reading of that statistic:

- ``calibrated`` (the shipped audit): the score is the statistic read against its null members' statistics (mean,
  spread floored at 0.5: ``fit_fusion_weights.read_against_null``);
- ``fused``: the score is the fused statistic itself;
- ``centred``: the fused statistic less its null members' mean.

The p-value and the verdict are the calibrated reading's under every variant (only the score differs). A model read
by one method alone keeps the audit's own score under every reading, as the audit keeps it. Printed per variant: the
criterion (the mean over fine-tuning, pruning, label and probability extraction of each one's worst-case AUC across
the 56 zoos), the mean over the seven sets of eight zoos (161-168, ..., 209-216) of the same criterion over each set,
the criterion over each half (seeds 161-188 and 189-216), each category's worst case with label extraction
split by what the thieves queried, transfer's worst case, and the innocent readings of each task called ``derived``.

    python benchmarks/results/round-twenty-six/design.py
"""

from __future__ import annotations

import json
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

RUNS = (*candidates.WITH_CROPS_161_208, "audit-seeds-209-216")
ZOOS = 56
SETS = [range(first, first + 8) for first in range(161, 217, 8)]
HALVES = {"161-188": range(161, 189), "189-216": range(189, 217)}
FLOOR = FUSED_SPREAD_FLOORS["by-attack"]
OTHER = "innocent-other"
GROUPS = (*fit.CATEGORIES, fit.INNOCENT, "transfer", OTHER)
CROPS = "source-crops"


def variants(methods: list[str]) -> list[tuple[str, list[list[str]], str]]:
    """Every variant tried, in the order it was tried: (name, hypotheses, reading)."""
    aimed = fit.by_attack_hypotheses(methods)[1:]
    no_crops = [m for m in methods if m != CROPS]
    aimed_no_crops = [[m for m in group if m != CROPS] for group in aimed]
    rest = [m for m in methods if all(m not in group for group in aimed)]
    label_group = aimed[1]
    out = [
        ("by-attack (shipped)", [methods, *aimed], "calibrated"),
        ("by-attack without source crops", [no_crops, *aimed_no_crops], "calibrated"),
        ("by-attack, disjoint groups", [rest, *aimed], "calibrated"),
        ("aimed groups only", aimed, "calibrated"),
        ("aimed groups and their union", [*aimed, aimed[0] + aimed[1]], "calibrated"),
        ("by-attack, every method but crops", [no_crops, *aimed], "calibrated"),
        (
            "every method, or dark knowledge with off-task and flips",
            [methods, aimed[0] + label_group[:2]],
            "calibrated",
        ),
        ("stouffer", [methods], "calibrated"),
    ]
    out += [(f"{m} alone", [[m]], "calibrated") for m in methods if m != "first-layer"]
    out += [
        ("by-attack", [methods, *aimed], "fused"),
        ("by-attack without source crops", [no_crops, *aimed_no_crops], "fused"),
        ("stouffer", [methods], "fused"),
        ("dark-knowledge alone", [["dark-knowledge"]], "fused"),
        ("source-flips alone", [["source-flips"]], "fused"),
        ("by-attack", [methods, *aimed], "centred"),
        ("by-attack without source crops", [no_crops, *aimed_no_crops], "centred"),
    ]
    return out


def scores(readings: fit.Readings, groups: list[list[str]], reading: str) -> tuple[np.ndarray, np.ndarray]:
    """Each model's ``combined`` score and verdict ``(M,)`` under a variant (the verdict is the calibrated one)."""
    with warnings.catch_warnings():  # a model no hypothesis reads (a transfer model, for the aimed groups) is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        statistic = np.nanmax(fit.stouffer_by_group(readings.models, groups), axis=1)
        null = np.nanmax(fit.stouffer_by_group(readings.members, groups), axis=1)
    # "centred" is no reading of the audit's: it starts from the calibrated one
    read = fit.read_against_null(readings, statistic, null, FLOOR, "fused" if reading == "fused" else "calibrated")
    score = read["score"].to_numpy().copy()
    row = readings.members["row"].to_numpy()
    members = np.bincount(row, minlength=len(statistic))
    fused = (members > 0) & ~np.isnan(score)  # a model read by one method alone keeps the audit's own score
    if reading == "centred":
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(row, null, minlength=len(statistic)) / members
        score[fused] = statistic[fused] - mean[fused]
    return score, read["verdict"].to_numpy()


def label_split(models: pd.DataFrame, score: np.ndarray, queried: str) -> float:
    """Label extraction's worst case across zoos, over the thieves that queried ``queried`` only."""
    keep = ~((models["group"] == "extract-label") & (models["queried"] != queried)).to_numpy()
    return fit.worst_aucs(models[keep].reset_index(drop=True), score[keep], ("extract-label",))["extract-label"]


def main() -> None:
    files = [[str(RESULTS / run / f"{name}.csv.gz") for run in RUNS] for name in ("readings", "fused_null")]
    readings = fit.load_readings(*files, groups=GROUPS)
    models = readings.models
    assert models["zoo"].nunique() == ZOOS, models["zoo"].nunique()
    seeds = models["zoo"].map(candidates.seed).to_numpy()
    tasks = (("same", fit.INNOCENT), ("other", OTHER))
    innocent = {task: (models["group"] == group).to_numpy() for task, group in tasks}
    shipped_zoos = set()
    for run in RUNS:
        if json.loads((RESULTS / run / "selection.json").read_text())["verdicts_printed_for"] == "by-attack":
            shipped_zoos |= set(pd.read_csv(RESULTS / run / "selection.csv")["zoo"])
    rows = []
    for name, groups, reading in variants(readings.methods):
        score, verdict = scores(readings, groups, reading)
        if (name, reading) == ("by-attack (shipped)", "calibrated"):
            gap, count = fit.audit_gap(models, score, shipped_zoos)  # asserts the same missing scores
            print(
                f"by-attack recomputed on the {len(shipped_zoos)} zoos whose runs fused with it: {count} "
                f"readings, largest gap to the audit's combined score {gap:.2e}, the same missing scores: True"
            )
        worst = fit.worst_aucs(models, score)
        per_set = [fit.criterion_over(models, score, np.isin(seeds, list(part))) for part in SETS]
        halves = {h: fit.criterion_over(models, score, np.isin(seeds, list(part))) for h, part in HALVES.items()}
        transfer = fit.worst_aucs(models, score, ("transfer",))["transfer"]
        rows.append(
            {
                "variant": f"{name} [{reading}]",
                "criterion": fit.criterion_over(models, score),
                "mean of 8-zoo sets": float(np.mean(per_set)),
                "sets above shipped": None,
                **{f"half {h}": v for h, v in halves.items()},
                **{f"worst {c}": worst[c] for c in fit.CATEGORIES},
                "label natural": label_split(models, score, "natural"),
                "label digits": label_split(models, score, "digits:attacker"),
                "transfer": transfer,
                "innocent derived": int((verdict[innocent["same"]] == "derived").sum()),
                "other derived": int((verdict[innocent["other"]] == "derived").sum()),
                "_sets": per_set,
            }
        )
    base = rows[0]["_sets"]
    for row in rows:
        row["sets above shipped"] = int(sum(a > b + 1e-12 for a, b in zip(row.pop("_sets"), base, strict=True)))
    table = pd.DataFrame(rows).set_index("variant")
    print(
        f"{ZOOS} zoos (seeds 161-216): {', '.join(RUNS)}; criterion over {', '.join(fit.CATEGORIES)}; "
        f"innocent readings {int(innocent['same'].sum())} of the source's task, "
        f"{int(innocent['other'].sum())} of the other"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.iloc[:, :6].to_string(float_format=lambda x: f"{x:.4f}"))
        print(table.iloc[:, 6:].to_string(float_format=lambda x: f"{x:.4f}"))
    chosen = table["criterion"].idxmax()
    print(f"highest criterion: {chosen} ({table.loc[chosen, 'criterion']:.4f})")


if __name__ == "__main__":
    main()
