"""Fit the weights of ``combined``'s weighted Stouffer fusion on seen stress zoos, and estimate them by cross-fitting.

Input: the ``readings.csv`` and ``fused_null.csv`` (or their ``.gz``, as the results folders keep them) that
``benchmarks/audit_selection.py --out DIR`` writes: every scored model's calibration per method in the shipped audit
(``zoo, source, model, group, neg_of, method, p_tail, usable``), and the members of each one's fused null with their own
per-method calibrations (``zoo, source, model, member, method, p_tail``). No model runs: a fusion of the tail p-values
(``stouffer``, its weighted forms, ``fisher``) is recomputed exactly as the audit reads it
(:func:`gifviz.audit.fusion.combined_evidence`): the model's fused statistic against its null members' fused statistics,
the spread floored at 0.5 and at 0.1% of their mean, the empirical and Student-t p-values and the verdict of
:func:`gifviz.audit.calibration.calibrate`, and the score as the audit gives it (the fused statistic itself since
round twenty-six, its distance above the null before: the fit reads the shipped score, and the check below reads it
as the runs' ``selection.json`` says they did). Each zoo's recomputed scores are checked against the audit's own
``combined`` under the weights its audit fused with: equal weights (``stouffer``, the default before round eighteen) or
:data:`gifviz.audit.names.FITTED_WEIGHTS` (``fitted-weights``, the default from round eighteen to round twenty-two);
the script prints how many zoos each reproduces and the largest difference left (readings of an audit that fused with
``by-attack``, the default since round twenty-three, are reproduced by neither, and the fit still recomputes every
model's weighted Stouffer from them).

The fusion is Stouffer's weighted z, ``sum_m w_m z_m / sqrt(sum_m w_m^2)`` over the methods that can compare a model
(:func:`gifviz.audit.fusion.weighted_stouffer`).

Objective: the audit's criterion (the mean over categories of the worst-case AUC across zoos) over the four categories
whose ``combined`` fuses several methods: fine-tuning, pruning, label and probability extraction. Transfer models and
the innocent models of the other task are read by the cross-task rule's methods only (ModelGiF, and first-layer where
the audit runs it) and are not fitted; so the audit's five-category criterion moves by four fifths of this one's. Each
model's methods are those its ``combined`` reads (``readings.csv``'s ``fused`` column; files without it: its usable
ones). Search: every
weight starts at 1; for each method in turn, the weight in :data:`GRID` that raises the objective most replaces it (a
strict gain only); passes repeat until one changes nothing (at most :data:`MAX_PASSES`). A coordinate search over a
coarse grid of positive weights, written here because the objective is a minimum over zoos of rank statistics (no
gradient, many flat steps), and eight weights on a six-value grid are too many to enumerate (1.7 million evaluations).

Cross-fitting: the zoos are split in two halves in the natural order of their names (seed 97 before 100); weights
fitted on each half are scored on the other, beside the baseline's weights on the same half (``--baseline``:
``stouffer``'s equal weights, or ``fitted-weights``, the shipped ones). The estimate of the
gain is the mean of the two halves' differences. The weights to ship are those fitted on every zoo given (printed
last, as JSON). The innocent models of the source's task called ``derived`` at the audit's rate are counted for both.

    python benchmarks/fit_fusion_weights.py DIR ... [--baseline stouffer|fitted-weights] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from gifviz.audit.calibration import MIN_INDEPENDENTS, decide
from gifviz.audit.calibration import SPREAD_FLOOR as CALIBRATION_SPREAD_FLOOR
from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, P_FLOOR, attack_hypotheses
from gifviz.audit.names import COMBINED_SCORES, DEFAULT_ALPHA, DEFAULT_COMBINED_SCORE, FITTED_WEIGHTS
from gifviz.bench import ipp
from gifviz.outputs import write_files

CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob")
INNOCENT = "innocent-same"  # the innocent models of the source's task: the negatives of every category above
# The weights a fit is compared against (--baseline): the fusions an audit has shipped with.
BASELINES: dict[str, dict[str, float]] = {"stouffer": {}, "fitted-weights": dict(FITTED_WEIGHTS)}
GRID = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
MAX_PASSES = 5
ALPHA = DEFAULT_ALPHA
# The fused null's spread floors, as gifviz.audit.fusion.combined_evidence reads them (a test keeps them in step).
SPREAD_FLOOR = FUSED_SPREAD_FLOORS["fitted-weights"]
RELATIVE_FLOOR = CALIBRATION_SPREAD_FLOOR


@dataclasses.dataclass(frozen=True)
class Readings:
    """The models a fit reads and their null members.

    Attributes:
        models: one row per (zoo, source, model) scored in :data:`CATEGORIES` or as :data:`INNOCENT`, with its tail z
            per method (NaN where the method cannot compare it) and ``combined``, the audit's own score.
        members: one row per member of a model's fused null, its tail z per method, and ``row``, the index of its
            model in ``models``.
        methods: the methods, in the order the readings name them.
    """

    models: pd.DataFrame
    members: pd.DataFrame
    methods: list[str]

    def subset(self, zoos: Sequence[str]) -> Readings:
        """The readings of ``zoos`` only (rows renumbered)."""
        keep = self.models["zoo"].isin(zoos).to_numpy()
        renumber = np.cumsum(keep) - 1
        members = self.members[keep[self.members["row"].to_numpy()]]
        members = members.assign(row=renumber[members["row"].to_numpy()])
        return Readings(self.models[keep].reset_index(drop=True), members.reset_index(drop=True), self.methods)


def _tail_z(p_tail: pd.Series) -> np.ndarray:
    """Tail p-values ``(R,)`` as standard normal deviates, clipped as the audit's fusions clip them."""
    return stats.norm.isf(p_tail.astype(float).clip(P_FLOOR, 1 - P_FLOOR))


def load_readings(
    readings: Sequence[str], nulls: Sequence[str], groups: Sequence[str] = (*CATEGORIES, INNOCENT)
) -> Readings:
    """:class:`Readings` from audit_selection's ``readings.csv`` and ``fused_null.csv`` files (in pairs), of the
    models in ``groups`` (by default those the fit reads; a design that also reads transfer models names
    ``transfer`` and ``innocent-other``). ``models`` keeps each model's ``queried`` (``natural``,
    ``digits:attacker`` or empty) and, where the files name it, its ``architecture``."""
    text = {"neg_of": str, "queried": str, "model": str, "member": str}
    long = pd.concat([pd.read_csv(p, dtype=text, keep_default_na=False, na_values=[""]) for p in readings])
    if "queried" not in long:  # files written before the column existed
        long = long.assign(queried="")
    long = long[long["group"].isin(groups)].fillna({"neg_of": "", "queried": ""})
    key = ["zoo", "source", "model"]
    audit = long[long["method"] == "combined"].set_index(key)[["score", "verdict"]]
    # the methods combined reads for each model (files written before the column existed: every usable one, which
    # is what combined read for the models of the four categories fitted, under the rules of their time)
    read = "fused" if "fused" in long else "usable"
    usable = long[(long["method"] != "combined") & (long[read].astype(str) == "True")]
    methods = list(dict.fromkeys(usable["method"]))
    repeated = long[long.duplicated([*key, "method"])]
    if len(repeated):
        first = repeated.iloc[0]
        raise ValueError(
            f"{first['zoo']} {first['source']} {first['model']} {first['method']} is read twice: give each zoo once"
        )
    models = usable.assign(z=_tail_z(usable["p_tail"])).pivot_table(index=key, columns="method", values="z")
    described = [c for c in ("group", "neg_of", "queried", "architecture") if c in long]
    labels = long.drop_duplicates(key).set_index(key)[described]
    audit = audit.rename(columns={"score": "combined", "verdict": "combined_verdict"})
    models = labels.join(models, how="inner").join(audit).reset_index()
    null = pd.concat([pd.read_csv(p, dtype=text, keep_default_na=False, na_values=[""]) for p in nulls])
    null = null.assign(z=_tail_z(null["p_tail"])).pivot_table(index=[*key, "member"], columns="method", values="z")
    rows = pd.Series(np.arange(len(models)), index=pd.MultiIndex.from_frame(models[key]))
    null = null.reset_index()
    null = null[pd.MultiIndex.from_frame(null[key]).isin(rows.index)]
    members = null.assign(row=rows.loc[pd.MultiIndex.from_frame(null[key])].to_numpy())
    return Readings(models, members.reset_index(drop=True), methods)


def fused(frame: pd.DataFrame, methods: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """Stouffer's weighted z ``(M,)`` of each row's usable methods (missing weights are 1)."""
    z = frame.reindex(columns=list(methods)).to_numpy(dtype=float)
    w = np.array([weights.get(m, 1.0) for m in methods])
    usable = ~np.isnan(z)
    return np.nansum(z * w, axis=1) / np.sqrt((usable * w**2).sum(axis=1))


def audit_gap(models: pd.DataFrame, scores: np.ndarray, zoos: set[str]) -> tuple[float, int]:
    """How far recomputed ``combined`` scores ``(M,)`` lie from the audit's own over the models of ``zoos``: the
    largest gap and the number of readings compared. A design's cross-check: it fails (AssertionError) on a gap of
    1e-9 or more, or where one side has a score the other lacks."""
    check = models["zoo"].isin(zoos).to_numpy()
    own = models["combined"].to_numpy()[check]
    gap = float(np.nanmax(np.abs(scores[check] - own)))
    assert gap < 1e-9 and np.array_equal(np.isnan(scores[check]), np.isnan(own)), "the recomputation is not the audit's"
    return gap, int(check.sum())


def difference_line(table: pd.DataFrame, half_columns: Mapping[str, str]) -> str:
    """A declared round's verdict line: the candidate (``table``'s second row) minus the shipped fusion (its first)
    in ``criterion``, in each half (``half_columns``: the half's name and its column), and the innocent readings each
    calls ``derived`` (columns ``innocent derived`` and ``innocent readings``)."""
    base, lead = table.iloc[0], table.iloc[1]
    return (
        f"candidate minus shipped: criterion {lead['criterion'] - base['criterion']:+.5f}; halves "
        + ", ".join(f"{h} {lead[c] - base[c]:+.5f}" for h, c in half_columns.items())
        + f"; innocent derived {int(lead['innocent derived'])} against {int(base['innocent derived'])}"
        + f" of {int(base['innocent readings'])}"
    )


def by_attack_hypotheses(methods: Sequence[str]) -> list[list[str]]:
    """``by-attack``'s hypotheses over ``methods`` without their names (``gifviz.audit.fusion.attack_hypotheses``):
    every method, then each group of ``ATTACK_EVIDENCE`` restricted to ``methods`` (empty where none is among them),
    so a column of ``stouffer_by_group`` keeps its place whichever methods a set read."""
    return [group for _, group in attack_hypotheses(methods)]


# The two kinds of label-only thief, as audit_selection names their categories (by what the thief queried).
NATURAL, DIGITS = "extract-label [natural]", "extract-label [digits:attacker]"
QUERIED = {"natural": NATURAL, "digits:attacker": DIGITS}


def with_label_kinds(models: pd.DataFrame) -> pd.DataFrame:
    """``models`` with two more categories, as audit_selection names them: each label-only thief is also a positive of
    the category of what it queried, and every negative of label extraction a negative of both (the label-only
    thieves' rows repeated at the end, in their order)."""
    rows = models[models["group"] == "extract-label"]
    assert set(rows["queried"]) <= set(QUERIED), set(rows["queried"])  # every thief lands in one of the two kinds
    kinds = rows.assign(group=rows["queried"].map(QUERIED))
    negatives = models["neg_of"].str.split(";").map(lambda c: "extract-label" in c)
    models = models.assign(neg_of=models["neg_of"].where(~negatives, models["neg_of"] + f";{NATURAL};{DIGITS}"))
    return pd.concat([models, kinds], ignore_index=True)


def stouffer_by_group(frame: pd.DataFrame, groups: Sequence[Sequence[str]]) -> np.ndarray:
    """Stouffer's z ``(R, H)`` of each row's tail z over each group of methods, as ``by-attack`` reads its
    hypotheses (NaN where none of a group's methods can compare the row); the declared rounds' designs read their
    candidates with it: :func:`fused` with equal weights, group by group."""
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 where no method of a group compares the row
        return np.stack([fused(frame, names, {}) for names in groups], axis=1)


def calibrated(readings: Readings, weights: Mapping[str, float], score: str = DEFAULT_COMBINED_SCORE) -> pd.DataFrame:
    """Each model's ``combined`` under ``weights``, read against its fused null as the audit reads it: ``score``
    (as ``score`` says: :func:`read_against_null`), ``p_value``, ``p_tail`` and ``verdict`` ``(M,)`` (NaN and ``n/a``
    with fewer than 2 members). A model with no member whose ``combined`` the audit read from one method alone keeps
    the audit's score and verdict: no weight changes one method. Vectorised here (the audit's own ``calibrate`` per
    model would take minutes per search step); a test holds the two together."""
    statistic = fused(readings.models, readings.methods, weights)
    return read_against_null(readings, statistic, fused(readings.members, readings.methods, weights), reading=score)


def read_against_null(
    readings: Readings,
    statistic: np.ndarray,
    null: np.ndarray,
    floor: float = SPREAD_FLOOR,
    reading: str = DEFAULT_COMBINED_SCORE,
) -> pd.DataFrame:
    """Each model's fused ``statistic`` ``(M,)`` read against its null members' fused statistics ``null`` ``(N,)``
    as ``combined_evidence`` reads them (spread floored at ``floor``, the fusion's, and at a share of the mean), with
    the verdict at the audit's rate: ``score``, ``p_value``, ``p_tail`` and ``verdict`` ``(M,)``. The score is the
    statistic itself under ``reading="fused"`` (the audit's default since round twenty-six) and its distance above the
    null in the null's spread under ``"calibrated"``; a model read from one method alone keeps the audit's own
    reading, and one with too few members has no score, under both."""
    if reading not in COMBINED_SCORES:
        raise ValueError(f"unknown combined score {reading!r}; choose one of: {', '.join(COMBINED_SCORES)}")
    row = readings.members["row"].to_numpy()
    m = len(readings.models)
    n = np.bincount(row, minlength=m).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(row, null, minlength=m) / n
        spread = np.sqrt(np.bincount(row, (null - mean[row]) ** 2, minlength=m) / (n - 1))
        spread = np.maximum.reduce([spread, RELATIVE_FLOOR * np.abs(mean), np.full(m, floor)])
        score = (statistic - mean) / spread
        at_least = np.bincount(row, null >= statistic[row], minlength=m)
        p_value = (1 + at_least) / (n + 1)
        p_tail = stats.t.cdf((mean - statistic) / (spread * np.sqrt(1 + 1 / n)), df=n - 1)
    if reading == "fused":
        score = np.where(np.isnan(score), np.nan, statistic)
    few = n < MIN_INDEPENDENTS
    score[few], p_value[few], p_tail[few] = np.nan, np.nan, np.nan
    members = zip(p_value, p_tail, n, strict=True)
    verdict = np.array([decide(p, t, int(k), ALPHA) if k >= MIN_INDEPENDENTS else "n/a" for p, t, k in members])
    # one method read as its own: no fused null, and the audit's own reading stands
    own = (n == 0) & (readings.models[list(readings.methods)].notna().sum(axis=1).to_numpy() == 1)
    score[own] = readings.models["combined"].to_numpy()[own]
    verdict[own] = readings.models["combined_verdict"].to_numpy()[own]
    return pd.DataFrame({"score": score, "p_value": p_value, "p_tail": p_tail, "verdict": verdict})


def criterion_over(models: pd.DataFrame, scores: np.ndarray, keep: np.ndarray | None = None) -> float:
    """The criterion over the zoos of ``models`` (those of the rows ``keep`` only, when given): the mean over
    :data:`CATEGORIES` of each one's worst-case AUC (:func:`worst_aucs`)."""
    if keep is not None:
        models, scores = models[keep].reset_index(drop=True), scores[keep]
    return float(np.mean(list(worst_aucs(models, scores).values())))


def worst_aucs(models: pd.DataFrame, scores: np.ndarray, categories: Sequence[str] = CATEGORIES) -> dict[str, float]:
    """Per category, the worst AUC across zoos: its models against the innocent models it is scored against, pooled
    over the zoo's sources as the audit's benchmark pools them (a category a zoo lacks is not read there)."""
    worst = dict.fromkeys(categories, math.nan)
    group, neg_of = models["group"].to_numpy(), models["neg_of"].to_numpy()
    for _, index in models.groupby("zoo").indices.items():
        for category in categories:
            positive = index[group[index] == category]
            negative = index[np.array([category in n.split(";") for n in neg_of[index]])]
            if len(positive) and len(negative):
                labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
                # a NaN AUC (a model without a score) counts 0, as audit_selection's criterion counts it
                auc = float(np.nan_to_num(ipp.auc(labels, np.r_[scores[positive], scores[negative]]), nan=0.0))
                worst[category] = auc if math.isnan(worst[category]) else min(worst[category], auc)
    return worst


def scored(readings: Readings, weights: Mapping[str, float]) -> tuple[float, tuple[int, int]]:
    """From one calibration under ``weights``: the criterion (the mean over :data:`CATEGORIES` of the worst-case
    AUC across the zoos of ``readings``), and how many readings of innocent models of the source's task ``combined``
    calls ``derived``, of how many."""
    read = calibrated(readings, weights)
    worst = worst_aucs(readings.models, read["score"].to_numpy())
    innocent = (readings.models["group"] == INNOCENT).to_numpy()
    derived = int((read["verdict"].to_numpy()[innocent] == "derived").sum())
    return float(np.nanmean(list(worst.values()))), (derived, int(innocent.sum()))


def criterion(readings: Readings, weights: Mapping[str, float]) -> float:
    """The criterion of :func:`scored`, the search's objective."""
    return scored(readings, weights)[0]


def fit(readings: Readings, log: Callable[[str], None] = print) -> dict[str, float]:
    """The weights of the coordinate search of the module docstring."""
    weights = dict.fromkeys(readings.methods, 1.0)
    best = criterion(readings, weights)
    for done in range(MAX_PASSES):
        changed = False
        for method in readings.methods:
            for value in GRID:
                trial = {**weights, method: value}
                score = criterion(readings, trial)
                if score > best + 1e-9:
                    best, weights, changed = score, trial, True
        log(f"  pass {done + 1}: criterion {best:.4f}, weights {weights}")
        if not changed:
            break
    else:
        log(f"  stopped after {MAX_PASSES} passes, still changing")
    return weights


def recorded_combined_score(folder: Path) -> str:
    """How an ``audit_selection.py --out`` folder scored ``combined`` (its ``selection.json``; ``calibrated`` when it
    records none, as every run before round twenty-six)."""
    provenance = folder / "selection.json"
    recorded = json.loads(provenance.read_text()).get("combined_score") if provenance.is_file() else None
    return recorded or "calibrated"


def _natural(name: str) -> tuple:
    """A sort key that puts ``gifviz-stress-97`` before ``gifviz-stress-100``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _table(folder: Path, name: str) -> Path | None:
    """``folder/name``, or its gzipped copy (how the results folders keep them), or ``None``."""
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def cross_fit(readings: Readings, halves: Sequence[Sequence[str]], baseline: str = "stouffer") -> list[dict]:
    """For each half, the weights fitted on the other half and its criterion there, beside ``baseline``'s (a name of
    :data:`BASELINES`)."""
    folds = []
    for held, other in ((0, 1), (1, 0)):
        train, test = readings.subset(halves[other]), readings.subset(halves[held])
        print(f"fit on {halves[other][0]}..{halves[other][-1]}, score on {halves[held][0]}..{halves[held][-1]}")
        weights = fit(train)
        (fitted, fitted_innocent), (base, base_innocent) = scored(test, weights), scored(test, BASELINES[baseline])
        print(f"  held-out criterion: fitted {fitted:.4f}, {baseline} {base:.4f}, gain {fitted - base:+.5f}")
        folds.append(
            {
                "fitted_on": list(halves[other]),
                "scored_on": list(halves[held]),
                "weights": weights,
                "fitted": fitted,
                "baseline": base,
                "innocent_derived": {"fitted": fitted_innocent, "baseline": base_innocent},
            }
        )
    return folds


def reproduced(readings: Readings, score: str = DEFAULT_COMBINED_SCORE) -> tuple[dict[str, list[str]], float]:
    """Which zoos' own ``combined`` scores each baseline's weights reproduce (within 1e-6) when ``combined`` is scored
    as the runs scored it (``score``), and the largest difference left over the zoos neither reproduces (0 when every
    zoo is reproduced)."""
    zoo = readings.models["zoo"].to_numpy()
    own = readings.models["combined"].to_numpy(dtype=float)
    gaps = {}
    for name, weights in BASELINES.items():
        gap = np.abs(calibrated(readings, weights, score)["score"].to_numpy() - own)
        gaps[name] = pd.Series(gap).groupby(zoo).max()  # NaN (a model without a score) counts as no gap
    table = pd.DataFrame(gaps)
    matched = {name: [z for z in table.index if table.loc[z, name] <= 1e-6] for name in BASELINES}
    left = table[(table > 1e-6).all(axis=1)].min(axis=1)
    return matched, float(left.max()) if len(left) else 0.0


def main(argv: list[str] | None = None) -> int:
    """Fit, cross-fit and print; exit 2 with one line when there is too little to cross-fit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readings", nargs="+", metavar="DIR", help="audit_selection.py --out folders")
    parser.add_argument(
        "--baseline",
        choices=list(BASELINES),
        default="stouffer",
        help="the weights a fit is compared against: stouffer's equal ones, or the shipped fitted-weights",
    )
    parser.add_argument("--out", metavar="FILE", help="write the fitted weights and the cross-fit as JSON here")
    args = parser.parse_args(argv)
    folders = [Path(d) for d in args.readings]
    found = {name: [_table(d, name) for d in folders] for name in ("readings.csv", "fused_null.csv")}
    missing = [str(d / name) for name, paths in found.items() for d, p in zip(folders, paths, strict=True) if not p]
    if missing:
        print(f"fit_fusion_weights: error: {missing[0]} is missing; run audit_selection.py --out", file=sys.stderr)
        return 2
    try:
        readings = load_readings(found["readings.csv"], found["fused_null.csv"])
    except ValueError as error:
        print(f"fit_fusion_weights: error: {error}", file=sys.stderr)
        return 2
    # how the runs scored combined (runs before round twenty-six record none: they read it against the null)
    scores = {str(d): recorded_combined_score(d) for d in folders}
    if len(set(scores.values())) > 1:
        print(f"fit_fusion_weights: error: the runs scored combined differently ({scores}): give runs of one reading",
              file=sys.stderr)  # fmt: skip
        return 2
    zoos = sorted(dict.fromkeys(readings.models["zoo"]), key=_natural)
    if len(zoos) < 4:
        print("fit_fusion_weights: error: cross-fitting needs at least 4 zoos", file=sys.stderr)
        return 2
    recomputed, own = calibrated(readings, {})["score"].to_numpy(), readings.models["combined"].to_numpy()
    if (np.isnan(recomputed) != np.isnan(own)).any():
        print("fit_fusion_weights: error: equal weights do not give the audit's own combined scores", file=sys.stderr)
        return 2
    matched, left = reproduced(readings, next(iter(scores.values())))
    print(
        f"{len(zoos)} zoos, {len(readings.models)} model readings; the audit's own combined scores reproduced by "
        + ", ".join(f"{name} on {len(found)} zoos" for name, found in matched.items())
        + f"; largest difference left {left:.2e}"
    )
    folds = cross_fit(readings, [zoos[: len(zoos) // 2], zoos[len(zoos) // 2 :]], args.baseline)
    gain = float(np.mean([f["fitted"] - f["baseline"] for f in folds]))
    halves = ", ".join(f"{f['fitted'] - f['baseline']:+.5f}" for f in folds)
    print(f"cross-fitted gain (mean of the two halves): {gain:+.5f}; halves {halves}")
    print(f"fit on all {len(zoos)} zoos")
    weights = fit(readings)
    baseline = BASELINES[args.baseline]
    (fitted, fitted_innocent), (base, base_innocent) = scored(readings, weights), scored(readings, baseline)
    result = {
        "readings": [str(d) for d in folders],
        "zoos": zoos,
        "methods": readings.methods,
        "grid": list(GRID),
        "baseline": {"name": args.baseline, "weights": baseline},
        "reproduced": matched,
        "folds": folds,
        "cross_fitted_gain": gain,
        "weights": weights,
        "criterion_all_zoos": {"fitted": fitted, "baseline": base},
        "innocent_derived_all_zoos": {"fitted": fitted_innocent, "baseline": base_innocent},
    }
    print(
        f"in-sample criterion: fitted {fitted:.4f}, {args.baseline} {base:.4f}; innocent readings derived "
        f"{fitted_innocent} against {base_innocent}"
    )
    print("weights to ship: " + json.dumps(weights))
    if args.out:
        print("wrote " + " and ".join(map(str, write_files({Path(args.out): json.dumps(result, indent=2)}))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
