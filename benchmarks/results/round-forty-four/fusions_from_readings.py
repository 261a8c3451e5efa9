"""Round forty-four's search for a candidate (DECLARED.md): other fusions of the per-method evidence the report sets
already hold, read without running a model.

Each report set's ``readings.csv.gz`` holds, for every model read against a source, each method's tail p-value, and
``fused_null.csv.gz`` the same for each member of that reading's fused null (the independents, each read against the
others). A fusion is a function of the methods' z, so any fusion can be scored from these files alone, with the
readers of ``benchmarks/fit_fusion_weights.py``: its statistic per reading is ``combined``'s score, and its verdict
the audit's second calibration of that statistic against the null members' statistics (``read_against_null``; a
reading with one usable method keeps that method's own reading, as the audit does). The script first checks that
the shipped fusion, computed here, gives every recorded score and verdict, then prints per candidate: probability
thieves and natural-image label thieves (mean / worst AUC over the zoos, and the zoos at 0.95 or more), the zoos at
0.95 or more in all five goal categories, the innocent readings called ``derived`` at 5%, and the MLP thieves called
``derived``.

    python benchmarks/results/round-forty-four/fusions_from_readings.py 217-224 225-232 ...
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS.parent))  # benchmarks/, for the readers of fit_fusion_weights.py

import fit_fusion_weights as fit  # noqa: E402

from gifviz.audit.fusion import FUSED_SPREAD_FLOORS  # noqa: E402
from gifviz.audit.names import ATTACK_EVIDENCE  # noqa: E402

GROUPS = ("finetune", "prune", "transfer", "extract-prob", "extract-label", "innocent-same", "innocent-other")
PROBABILITY, LABEL_ONLY = (list(methods) for methods in ATTACK_EVIDENCE.values())
GOAL = ("finetune", "prune", "transfer", "extract-prob", fit.NATURAL)

# A candidate reads a fusion's statistic per row of tail z (readings or null members) from the methods fused.
Fusion = Callable[[pd.DataFrame, list[str]], np.ndarray]


def largest_of(*groups: Callable[[list[str]], list[str]]) -> Fusion:
    """The largest Stouffer's z over the groups of methods (``by-attack``: every method, probability, label-only)."""
    return lambda z, methods: np.nanmax(fit.stouffer_by_group(z, [group(methods) for group in groups]), axis=1)


def by_attack(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
    """The shipped fusion, over its hypotheses as ``fit_fusion_weights`` lists them."""
    return np.nanmax(fit.stouffer_by_group(z, fit.by_attack_hypotheses(methods)), axis=1)


def every(methods: list[str]) -> list[str]:
    return methods


def unaimed(methods: list[str]) -> list[str]:
    """The methods no group of ATTACK_EVIDENCE aims at."""
    return [m for m in methods if m not in PROBABILITY + LABEL_ONLY]


def aimed(*names: str) -> Callable[[list[str]], list[str]]:
    return lambda methods: [m for m in names if m in methods]


def correlated_stouffer(correlation: pd.DataFrame) -> Fusion:
    """by-attack with each group's sum of z divided by its standard deviation under ``correlation`` (the methods'
    z are correlated over the independents, dark knowledge and CKA at about 0.5), not by ``sqrt(k)``."""

    def group_z(z: pd.DataFrame, names: list[str]) -> np.ndarray:
        chosen = z.reindex(columns=names)
        present = chosen.notna().to_numpy(float)
        sd = np.sqrt(np.einsum("ni,ij,nj->n", present, correlation.loc[names, names].to_numpy(), present))
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 where no method of a group compares the row
            return chosen.sum(axis=1, min_count=1).to_numpy() / np.where(sd > 0, sd, np.nan)

    groups = (every, aimed(*PROBABILITY), aimed(*LABEL_ONLY))
    return lambda z, methods: np.nanmax(np.stack([group_z(z, g(methods)) for g in groups], axis=1), axis=1)


def read(readings: fit.Readings, fusion: Fusion) -> pd.DataFrame:
    """``combined`` as ``fusion`` would read it: ``score`` and ``verdict`` per model of ``readings.models``."""
    statistic, null = (fusion(frame, readings.methods) for frame in (readings.models, readings.members))
    return fit.read_against_null(readings, statistic, null, FUSED_SPREAD_FLOORS["by-attack"], "fused")


def zoo_aucs(models: pd.DataFrame, score: np.ndarray) -> pd.DataFrame:
    """Each zoo's AUC ``(zoos, categories)`` per goal category, natural-image label thieves apart."""
    kinds = fit.with_label_kinds(models)
    scores = np.r_[score, score[(models["group"] == "extract-label").to_numpy()]]  # as with_label_kinds repeats them
    by_zoo = kinds.groupby("zoo").indices
    return pd.DataFrame(
        {zoo: fit.worst_aucs(kinds.iloc[i].reset_index(drop=True), scores[i], GOAL) for zoo, i in by_zoo.items()}
    ).T


def at_goal(aucs: pd.DataFrame) -> pd.Series:
    """Per zoo of :func:`zoo_aucs`' table: whether it is at 0.95 or more in all five goal categories."""
    return aucs[list(GOAL)].min(axis=1) >= 0.95


def report_set(zoos: pd.Index, sets: Sequence[str]) -> list[str]:
    """The report set (as in ``audit-seeds-<set>``) each zoo ``gifviz-stress-<seed>`` of ``zoos`` belongs to."""
    first_last = {s: tuple(int(seed) for seed in s.split("-")) for s in sets}
    seed = [int(zoo.rsplit("-", 1)[1]) for zoo in zoos]
    return [next(s for s, (a, b) in first_last.items() if a <= n <= b) for n in seed]


def summary(models: pd.DataFrame, reading: pd.DataFrame) -> dict[str, object]:
    """One candidate's line of the table."""
    aucs = zoo_aucs(models, reading["score"].to_numpy())
    verdict = reading["verdict"].to_numpy()
    innocent = models["group"].str.startswith("innocent").to_numpy()
    thieves = (models["group"] == "extract-prob") | (
        (models["group"] == "extract-label") & (models["queried"] == "natural")
    )
    mlp = (thieves & (models["architecture"] == "mlp")).to_numpy()
    line: dict[str, object] = {}
    for cat, short in (("extract-prob", "prob"), (fit.NATURAL, "label nat.")):
        line[short] = f"{aucs[cat].mean():.3f} / {aucs[cat].min():.3f}, {(aucs[cat] >= 0.95).sum()}"
    line["all five at goal"] = int((aucs[list(GOAL)].min(axis=1) >= 0.95).sum())
    line["innocent derived"] = f"{(verdict[innocent] == 'derived').sum()} of {innocent.sum()}"
    line["MLP thieves derived"] = f"{(verdict[mlp] == 'derived').sum()} of {mlp.sum()}"
    return line


def load_sets(sets: Sequence[str]) -> fit.Readings:
    """The readings of the report sets ``sets`` (as in ``audit-seeds-<set>``), of the models in :data:`GROUPS`."""
    folders = [RESULTS / f"audit-seeds-{s}" for s in sets]
    return fit.load_readings(
        [str(f / "readings.csv.gz") for f in folders], [str(f / "fused_null.csv.gz") for f in folders], GROUPS
    )


def print_table(readings: fit.Readings, candidates: dict[str, Fusion]) -> None:
    """One line of :func:`summary` per candidate, as a markdown table."""
    table = pd.DataFrame({name: summary(readings.models, read(readings, f)) for name, f in candidates.items()}).T
    print("| candidate | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, line in table.iterrows():
        print(f"| {name} | " + " | ".join(str(v) for v in line) + " |")


def shipped_reproduced(readings: fit.Readings) -> pd.DataFrame:
    """The shipped fusion read from ``readings`` (:func:`read`), after checking that it gives every score and verdict
    the audit recorded (AssertionError otherwise): a design reads candidates only where it reads the audit exactly."""
    shipped = read(readings, by_attack)
    fit.audit_gap(readings.models, shipped["score"].to_numpy(), set(readings.models["zoo"]))
    assert (shipped["verdict"] == readings.models["combined_verdict"]).all(), "the shipped verdicts are not reproduced"
    return shipped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    readings = load_sets(args.sets)
    shipped_reproduced(readings)
    candidates: dict[str, Fusion] = {
        "shipped (by-attack)": by_attack,
        "probability group with CKA": largest_of(every, aimed(*PROBABILITY, "cka"), aimed(*LABEL_ONLY)),
        "both aimed groups as a fourth hypothesis": largest_of(
            every, aimed(*PROBABILITY), aimed(*LABEL_ONLY), aimed(*PROBABILITY, *LABEL_ONLY)
        ),
        "unaimed methods instead of every method": largest_of(unaimed, aimed(*PROBABILITY), aimed(*LABEL_ONLY)),
        "Stouffer's z under the null members' correlation": correlated_stouffer(
            readings.members[readings.methods].corr()
        ),
    }
    print(f"{readings.models['zoo'].nunique()} zoos, shipped scores and verdicts reproduced")
    print_table(readings, candidates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
