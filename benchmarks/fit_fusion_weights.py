"""Fit the weights of ``combined``'s weighted Stouffer fusion on seen stress zoos, and estimate them by cross-fitting.

Input: the ``readings.csv`` that ``benchmarks/audit_selection.py --out DIR`` writes (every scored model's calibration
per method in the shipped audit: ``zoo, source, model, group, neg_of, queried, method, p_tail, usable``). No model
runs: a fusion is recomputed from the per-method tail p-values.

The fusion is Stouffer's weighted z, ``sum_m w_m z_m / sqrt(sum_m w_m^2)`` over the methods that can compare a
model (``gifviz.audit.fusion.fitted_weights``). The audit then reads that statistic against the independents' own
(each fused from its calibration against the other independents). Here that second reading is approximated: each
model's fused value is standardised by the mean and standard deviation (floored at the audit's 0.5) of the fused
values of the source's innocent models of its task, the model itself left out. Those innocent models are the
independents, each read leave-one-out, so this is the audit's null up to which independents each was read against.
The approximation only ranks; the audit's own figures come from ``audit_selection.py``.

Objective: the audit's criterion (the mean over categories of the worst-case AUC across zoos) over the four
categories whose ``combined`` fuses several methods: fine-tuning, pruning, label and probability extraction. Transfer
models and the innocent models of the other task are read by ModelGiF alone (the cross-task rule), whose own reading
no weight changes. Search: every weight starts at 1; for each method in turn, the weight in :data:`GRID` that raises
the objective most replaces it (a strict gain only); passes repeat until one changes nothing (at most
:data:`MAX_PASSES`). A coordinate search over a coarse grid of positive weights, written here because the objective
is a minimum over zoos of rank statistics (no gradient, many flat steps), and eight weights on a six-value grid are
too many to enumerate (1.7 million evaluations).

Cross-fitting: the zoos are split in two halves in the natural order of their names (seed 97 before 100); weights
fitted on each half are scored on the other, beside Stouffer's equal weights on the same half. The estimate of the
gain is the mean of the two halves' differences. The weights to ship are those fitted on every zoo given (printed
last, as JSON).

    python benchmarks/fit_fusion_weights.py DIR/readings.csv ... [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from gifviz.outputs import write_files

CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob")
GRID = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
MAX_PASSES = 5
INNOCENT = "innocent-same"  # the source's independents of its task, each read leave-one-out
SPREAD_FLOOR = 0.5  # the audit's floor of a fused null's spread (gifviz.audit.fusion.FUSED_SPREAD_FLOORS)
P_FLOOR = 1e-15  # the audit's clip of a tail p-value before the inverse normal (gifviz.audit.fusion)


def load_readings(paths: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per (zoo, source, model) scored in a fused category or as an innocent of the source's task, one column
    of tail z per method (NaN where the method cannot compare the model), and the methods in column order."""
    frames = [
        pd.read_csv(p, dtype={"neg_of": str, "queried": str}, keep_default_na=False, na_values=[""]) for p in paths
    ]
    readings = pd.concat(frames, ignore_index=True).drop_duplicates(["zoo", "source", "model", "method"])
    readings = readings[readings["method"] != "combined"]
    readings = readings[readings["usable"].astype(str) == "True"]
    readings = readings.assign(z=stats.norm.isf(readings["p_tail"].clip(P_FLOOR, 1 - P_FLOOR)))
    methods = list(dict.fromkeys(readings["method"]))
    key = ["zoo", "source", "model", "group", "neg_of", "queried"]
    for column in ("neg_of", "queried"):
        readings[column] = readings[column].fillna("")
    wide = readings.pivot_table(index=key, columns="method", values="z").reset_index()
    wide = wide[wide["group"].isin((*CATEGORIES, INNOCENT))].reset_index(drop=True)
    return wide, [m for m in methods if m in wide.columns]


def fused(frame: pd.DataFrame, methods: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """Stouffer's weighted z ``(M,)`` of each row's usable methods (missing weights are 1)."""
    z = frame[list(methods)].to_numpy(dtype=float)
    w = np.array([weights.get(m, 1.0) for m in methods])
    usable = ~np.isnan(z)
    return np.nansum(z * w, axis=1) / np.sqrt((usable * w**2).sum(axis=1))


def standardised(frame: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Each value ``(M,)`` read against its source's innocent models (leave-one-out): the approximate second
    calibration of the module docstring."""
    scores = np.empty(len(values))
    for _, index in frame.groupby(["zoo", "source"]).indices.items():
        own = values[index]
        innocent = frame["group"].to_numpy()[index] == INNOCENT
        null = own[innocent]
        n, total, squares = len(null), null.sum(), (null**2).sum()
        mean = np.full(len(index), total / n)
        var = np.full(len(index), (squares - total**2 / n) / (n - 1))
        mean[innocent] = (total - null) / (n - 1)  # an innocent model is left out of its own null
        var[innocent] = ((squares - null**2) - (total - null) ** 2 / (n - 1)) / (n - 2)
        scores[index] = (own - mean) / np.maximum(np.sqrt(np.maximum(var, 0.0)), SPREAD_FLOOR)
    return scores


def worst_aucs(frame: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """Per category, the worst AUC across zoos: its models against the innocent models it is scored against, pooled
    over the zoo's sources as the audit's benchmark pools them."""
    worst = dict.fromkeys(CATEGORIES, 1.0)
    group, neg_of = frame["group"].to_numpy(), frame["neg_of"].to_numpy()
    for _, index in frame.groupby("zoo").indices.items():
        for category in CATEGORIES:
            positive = index[group[index] == category]
            negative = index[np.array([category in n.split(";") for n in neg_of[index]])]
            if len(positive) and len(negative):
                labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
                auc = roc_auc_score(labels, np.r_[scores[positive], scores[negative]])
                worst[category] = min(worst[category], float(auc))
    return worst


def criterion(frame: pd.DataFrame, methods: Sequence[str], weights: Mapping[str, float]) -> float:
    """The mean over :data:`CATEGORIES` of the worst-case AUC across the zoos of ``frame``."""
    return float(np.mean(list(worst_aucs(frame, standardised(frame, fused(frame, methods, weights))).values())))


def fit(frame: pd.DataFrame, methods: Sequence[str], log=print) -> dict[str, float]:
    """The weights of the coordinate search of the module docstring."""
    weights = dict.fromkeys(methods, 1.0)
    best = criterion(frame, methods, weights)
    for done in range(MAX_PASSES):
        changed = False
        for method in methods:
            for value in GRID:
                trial = {**weights, method: value}
                score = criterion(frame, methods, trial)
                if score > best + 1e-9:
                    best, weights, changed = score, trial, True
        log(f"  pass {done + 1}: criterion {best:.4f}, weights {weights}")
        if not changed:
            break
    return weights


def _natural(name: str) -> tuple:
    """A sort key that puts ``gifviz-stress-97`` before ``gifviz-stress-100``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readings", nargs="+", metavar="readings.csv", help="from audit_selection.py --out DIR")
    parser.add_argument("--out", metavar="FILE", help="write the fitted weights and the cross-fit as JSON here")
    args = parser.parse_args(argv)
    frame, methods = load_readings(args.readings)
    zoos = sorted(dict.fromkeys(frame["zoo"]), key=_natural)
    if len(zoos) < 4:
        print("fit_fusion_weights: error: cross-fitting needs at least 4 zoos", file=sys.stderr)
        return 2
    halves = [zoos[: len(zoos) // 2], zoos[len(zoos) // 2 :]]
    folds = []
    for held, other in ((0, 1), (1, 0)):
        train, test = frame[frame["zoo"].isin(halves[other])], frame[frame["zoo"].isin(halves[held])]
        print(f"fit on {halves[other][0]}..{halves[other][-1]}, score on {halves[held][0]}..{halves[held][-1]}")
        weights = fit(train.reset_index(drop=True), methods)
        test = test.reset_index(drop=True)
        fitted, equal = criterion(test, methods, weights), criterion(test, methods, {})
        print(f"  held-out criterion: fitted {fitted:.4f}, stouffer {equal:.4f}, gain {fitted - equal:+.4f}")
        folds.append(
            {
                "fitted_on": halves[other],
                "scored_on": halves[held],
                "weights": weights,
                "fitted": fitted,
                "stouffer": equal,
            }
        )
    gain = float(np.mean([f["fitted"] - f["stouffer"] for f in folds]))
    print(
        f"cross-fitted gain (mean of the two halves): {gain:+.4f}; "
        "halves " + ", ".join(f"{f['fitted'] - f['stouffer']:+.4f}" for f in folds)
    )
    print(f"fit on all {len(zoos)} zoos")
    weights = fit(frame, methods)
    print("weights to ship: " + json.dumps(weights))
    if args.out:
        result = {
            "readings": args.readings,
            "methods": methods,
            "grid": list(GRID),
            "folds": folds,
            "cross_fitted_gain": gain,
            "weights": weights,
            "criterion_all_zoos": {
                "fitted": criterion(frame, methods, weights),
                "stouffer": criterion(frame, methods, {}),
            },
        }
        print("wrote " + " and ".join(map(str, write_files({Path(args.out): json.dumps(result, indent=2)}))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
