"""Round thirty-seven's reading: ``dark-knowledge-mix`` in dark knowledge's place, against the shipped audit.

The shipped audit's readings are its report runs' own (``readings.csv.gz`` and ``fused_null.csv.gz``: every default
method). A second run on the same zoos ran dark knowledge and dark-knowledge-mix only (``--methods
dark-knowledge,dark-knowledge-mix``): a method's calibration reads only that method's distances, so the candidate's
readings are the shipped ones with dark knowledge's replaced by dark-knowledge-mix's, and no other model runs again.
Before reading anything, it checks that the two runs agree: dark knowledge's tail p-value of every model and every null
member the same in both, and the shipped audit recomputed from its readings equal to its run's own ``combined`` score of
every model. Then both audits are read the same way (``by-attack`` over every method and over each group of
``ATTACK_EVIDENCE``, scored by its fused statistic) and it prints, per audit, the declared criterion (the mean over
fine-tuning, pruning, label-only thieves that queried natural images and probability extraction of each one's worst
case across the zoos), the same over each half, each category's mean and worst case, the probability thieves'
verdicts (MLPs apart) and the innocent readings of the source's task called ``derived``.

    python benchmarks/results/round-thirty-seven/design.py \\
        --shipped benchmarks/results/audit-seeds-298-305 benchmarks/results/audit-seeds-306-313 \\
        --design benchmarks/results/round-thirty-seven/design-298-313 --halves 298-305 306-313
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # benchmarks/, for the readings of fit_fusion_weights.py

import fit_fusion_weights as fit  # noqa: E402
import fusion_candidates as candidates  # noqa: E402

from gifviz.audit.fusion import FUSED_SPREAD_FLOORS  # noqa: E402

SHIPPED, CANDIDATE = "dark-knowledge", "dark-knowledge-mix"
NATURAL, DIGITS = fit.NATURAL, fit.DIGITS
DECLARED = ("finetune", "prune", NATURAL, "extract-prob")  # the declared criterion's categories
SHOWN = (*DECLARED, "extract-label", DIGITS)
TEXT = {"neg_of": str, "queried": str, "model": str, "member": str}
KEY = ["zoo", "source", "model"]


def _frames(folders: list[Path], name: str) -> pd.DataFrame:
    """One of the runs' tables, ``NAME.csv.gz`` or ``NAME.csv``, over ``folders``."""
    paths = [next(p for p in (f / f"{name}.csv.gz", f / f"{name}.csv") if p.exists()) for f in folders]
    return pd.concat([pd.read_csv(p, dtype=TEXT, keep_default_na=False, na_values=[""]) for p in paths])


def _largest_gap(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], column: str) -> float:
    """The largest difference of ``column`` between the rows of ``a`` and ``b`` with the same ``keys``; an
    AssertionError where one has a row the other lacks."""
    both = a.set_index(keys)[[column]].join(b.set_index(keys)[[column]], how="outer", suffixes=("_a", "_b"))
    left = both[both[f"{column}_a"].isna() != both[f"{column}_b"].isna()]
    assert left.empty, f"rows in one run only, e.g. {left.index[0]}"
    return float(np.nanmax(np.abs(both[f"{column}_a"].astype(float) - both[f"{column}_b"].astype(float))))


def grafted(shipped: list[Path], design: list[Path], out: Path) -> tuple[Path, Path]:
    """The candidate's ``readings.csv`` and ``fused_null.csv`` in ``out``: the shipped runs' with dark knowledge's rows
    replaced by the design runs' dark-knowledge-mix rows, after checking that both runs read dark knowledge alike."""
    readings, nulls = _frames(shipped, "readings"), _frames(shipped, "fused_null")
    mixed, mixed_nulls = _frames(design, "readings"), _frames(design, "fused_null")
    zoos = set(readings["zoo"])
    assert zoos == set(mixed["zoo"]), "the design runs must score the same zoos as the shipped runs"
    ours = readings[readings["method"] == SHIPPED]
    theirs = mixed[mixed["method"] == SHIPPED]
    gap = _largest_gap(ours, theirs, [*KEY, "group"], "p_tail")
    assert gap < 1e-9, f"dark knowledge read differently in the two runs ({gap})"
    fused_alike = (ours.set_index(KEY)["fused"] == theirs.set_index(KEY)["fused"]).all()
    assert fused_alike, "dark knowledge fused for other models in the two runs"
    null_gap = _largest_gap(
        nulls[nulls["method"] == SHIPPED], mixed_nulls[mixed_nulls["method"] == SHIPPED], [*KEY, "member"], "p_tail"
    )
    assert null_gap < 1e-9, f"dark knowledge's null members differ between the two runs ({null_gap})"
    print(f"dark knowledge alike in both runs: readings within {gap:.1e}, null members within {null_gap:.1e}")
    swap = readings[readings["method"] != SHIPPED]
    readings = pd.concat([swap, mixed[mixed["method"] == CANDIDATE]], ignore_index=True)
    nulls = pd.concat(
        [nulls[nulls["method"] != SHIPPED], mixed_nulls[mixed_nulls["method"] == CANDIDATE]], ignore_index=True
    )
    paths = out / "readings.csv", out / "fused_null.csv"
    readings.to_csv(paths[0], index=False)
    nulls.to_csv(paths[1], index=False)
    return paths


def by_attack(readings: fit.Readings, groups: list[list[str]]) -> pd.DataFrame:
    """``by-attack`` over the hypotheses ``groups``, read against each model's fused null as the audit reads it."""
    with warnings.catch_warnings():  # a model no aimed method reads has NaN hypotheses but the first
        warnings.simplefilter("ignore", RuntimeWarning)
        statistic, null = (
            np.nanmax(fit.stouffer_by_group(f, groups), axis=1) for f in (readings.models, readings.members)
        )
    return fit.read_against_null(readings, statistic, null, FUSED_SPREAD_FLOORS["by-attack"], "fused")


def criterion(models: pd.DataFrame, score: np.ndarray, keep: np.ndarray | None = None) -> float:
    """The mean over :data:`DECLARED` of each one's worst-case AUC across the zoos (of the rows ``keep`` only)."""
    if keep is not None:
        models, score = models[keep].reset_index(drop=True), score[keep]
    return float(np.mean(list(fit.worst_aucs(models, score, DECLARED).values())))


def _architectures(folders: list[Path]) -> pd.Series:
    """Each scored model's architecture, by (zoo, source, model)."""
    frame = _frames(folders, "readings").drop_duplicates(KEY)
    return frame.set_index(KEY)["architecture"]


def read_audit(name: str, readings: fit.Readings, groups: list[list[str]], arch: pd.Series, halves: dict) -> dict:
    """One audit's line of the table."""
    read = by_attack(readings, groups)
    score = read["score"].to_numpy()
    models = fit.with_label_kinds(readings.models)
    score_kinds = np.r_[score, score[(readings.models["group"] == "extract-label").to_numpy()]]
    seeds = models["zoo"].map(candidates.seed).to_numpy()
    worst = fit.worst_aucs(models, score_kinds, SHOWN)
    per_zoo = {c: [] for c in SHOWN}
    for zoo in dict.fromkeys(models["zoo"]):
        keep = (models["zoo"] == zoo).to_numpy()
        for c, auc in fit.worst_aucs(models[keep].reset_index(drop=True), score_kinds[keep], SHOWN).items():
            per_zoo[c].append(auc)
    verdict = read["verdict"].to_numpy()
    group = readings.models["group"].to_numpy()
    mlp = arch.reindex(pd.MultiIndex.from_frame(readings.models[KEY])).to_numpy() == "mlp"
    prob = group == "extract-prob"
    innocent = group == fit.INNOCENT
    return {
        "audit": name,
        "criterion": criterion(models, score_kinds),
        **{f"half {h}": criterion(models, score_kinds, np.isin(seeds, list(r))) for h, r in halves.items()},
        **{f"mean {c}": float(np.mean(per_zoo[c])) for c in SHOWN},
        **{f"worst {c}": worst[c] for c in SHOWN},
        "prob thieves derived": int((verdict[prob] == "derived").sum()),
        "prob MLP thieves derived": int((verdict[prob & mlp] == "derived").sum()),
        "prob thieves": int(prob.sum()),
        "prob MLP thieves": int((prob & mlp).sum()),
        "innocent derived": int((verdict[innocent] == "derived").sum()),
        "innocent readings": int(innocent.sum()),
    }


def _halves(names: list[str]) -> dict[str, range]:
    """``298-305`` -> that range of seeds, by name."""
    out = {}
    for name in names:
        first, last = (int(x) for x in name.split("-"))
        out[name] = range(first, last + 1)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipped", nargs="+", type=Path, required=True, help="the shipped audit's runs")
    parser.add_argument("--design", nargs="+", type=Path, required=True, help="the dark-knowledge-mix runs")
    parser.add_argument("--halves", nargs="*", default=[], help="seed ranges read apart, e.g. 298-305")
    args = parser.parse_args(argv)
    halves = _halves(args.halves)
    files = [
        [str(f / f"{n}.csv.gz") if (f / f"{n}.csv.gz").exists() else str(f / f"{n}.csv") for f in args.shipped]
        for n in ("readings", "fused_null")
    ]
    shipped = fit.load_readings(*files)
    arch = _architectures(args.shipped)
    groups = fit.by_attack_hypotheses(shipped.methods)
    read = by_attack(shipped, groups)
    own = shipped.models["combined"].to_numpy(dtype=float)
    gap = float(np.nanmax(np.abs(read["score"].to_numpy() - own)))
    assert gap < 1e-9 and np.array_equal(np.isnan(read["score"].to_numpy()), np.isnan(own)), gap
    print(f"shipped audit recomputed from its readings: every model's combined within {gap:.1e} of its run's own")
    rows = [read_audit("shipped (dark-knowledge)", shipped, groups, arch, halves)]
    with tempfile.TemporaryDirectory() as tmp:
        candidate = fit.load_readings(*([str(p)] for p in grafted(args.shipped, args.design, Path(tmp))))
    assert SHIPPED not in candidate.methods and CANDIDATE in candidate.methods, candidate.methods
    # the candidate's groups, as the audit reads them when dark-knowledge-mix is named in dark knowledge's place (in
    # the shipped methods' order, so that the hypotheses print as they did)
    swapped = fit.by_attack_hypotheses([CANDIDATE if m == SHIPPED else m for m in shipped.methods])
    rows.append(read_audit("candidate (dark-knowledge-mix)", candidate, swapped, arch, halves))
    table = pd.DataFrame(rows).set_index("audit")
    zoos = shipped.models["zoo"].nunique()
    print(f"{zoos} zoos; criterion over {', '.join(DECLARED)}; hypotheses {groups} -> {swapped}")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_rows", 80):
        print(table.T.to_string(float_format=lambda x: f"{x:.4f}"))
    print(fit.difference_line(table, {h: f"half {h}" for h in halves}))


if __name__ == "__main__":
    main()
