"""Round forty-four's search for a candidate (DECLARED.md): other fusions of the per-method evidence the report sets
already hold, read without running a model.

Each report set's ``readings.csv.gz`` holds, for every model read against a source, each method's tail p-value, and
``fused_null.csv.gz`` the same for each member of that reading's fused null (the independents, each read against the
others). A fusion is a function of the methods' z (``Phi^-1(1 - p_tail)``, clipped as the audit clips them), so any
fusion can be scored from these files alone: its statistic per reading is ``combined``'s score, and its verdict is
the audit's second calibration of that statistic against the null members' statistics
(:func:`gifviz.audit.calibration.calibrate`). A reading with one usable method keeps that method's own reading, as
the audit does. The script first checks that the shipped fusion, computed here, gives every recorded score and
verdict, then prints per candidate: probability thieves and natural-image label thieves (mean / worst AUC over the
zoos, and the zoos at 0.95 or more), the zoos at 0.95 or more in all five goal categories, the innocent readings
called ``derived`` at 5%, and the MLP thieves called ``derived``.

    python benchmarks/results/round-forty-four/fusions_from_readings.py 217-224 225-232 ...
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from gifviz.audit.calibration import calibrate
from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, P_FLOOR
from gifviz.audit.names import ATTACK_EVIDENCE

RESULTS = Path(__file__).resolve().parents[1]
READING = ["zoo", "source", "model"]
PROBABILITY, LABEL_ONLY = (list(methods) for methods in ATTACK_EVIDENCE.values())
EVERY = None  # a group that stands for every usable method
UNAIMED = "unaimed"  # a group that stands for the usable methods no group of ATTACK_EVIDENCE aims at
GOAL = ("finetune", "prune", "transfer", "extract-prob", "label-natural")
# Each goal category's innocents: the readings whose neg_of names it (natural-image label thieves are read against
# extract-label's).
NEGATIVES_OF = {"label-natural": "extract-label", "label-digits": "extract-label"}

Fusion = Callable[[pd.DataFrame], pd.Series]


def z_of(p_tail: pd.Series) -> pd.Series:
    """A method's tail p-value as a standard normal deviate, clipped as ``gifviz.audit.fusion`` clips it."""
    return pd.Series(stats.norm.isf(p_tail.clip(P_FLOOR, 1.0 - P_FLOOR)), index=p_tail.index)


def group_columns(z: pd.DataFrame, methods: Sequence[str] | str | None) -> list[str]:
    """The columns of ``z`` a group names."""
    if methods is EVERY:
        return list(z.columns)
    if methods == UNAIMED:
        return [m for m in z.columns if m not in PROBABILITY + LABEL_ONLY]
    return [m for m in methods if m in z.columns]


def stouffer_over(z: pd.DataFrame, methods: Sequence[str] | str | None) -> pd.Series:
    """Stouffer's z per row over the ``methods`` (:data:`EVERY`, :data:`UNAIMED` or a list) that row has a value
    for; NaN with none."""
    chosen = z[group_columns(z, methods)]
    count = chosen.notna().sum(axis=1).replace(0, np.nan)
    return chosen.sum(axis=1, min_count=1) / np.sqrt(count)


def largest_of(*groups: Sequence[str] | str | None) -> Fusion:
    """The largest Stouffer's z over the groups (``by-attack`` is every method, probability, label-only)."""
    return lambda z: pd.concat([stouffer_over(z, g) for g in groups], axis=1).max(axis=1)


def correlated_stouffer(correlation: pd.DataFrame) -> Fusion:
    """by-attack with each group's sum of z divided by its standard deviation under ``correlation`` (the methods'
    z are correlated over the independents, dark knowledge and CKA at about 0.5), not by ``sqrt(k)``."""

    def group_z(z: pd.DataFrame, methods: Sequence[str] | None) -> pd.Series:
        chosen = z[group_columns(z, methods)]
        present = chosen.notna().to_numpy(float)
        r = correlation.loc[chosen.columns, chosen.columns].to_numpy()
        sd = np.sqrt(np.einsum("ni,ij,nj->n", present, r, present))
        return chosen.sum(axis=1, min_count=1) / np.where(sd > 0, sd, np.nan)

    return lambda z: pd.concat([group_z(z, g) for g in (EVERY, PROBABILITY, LABEL_ONLY)], axis=1).max(axis=1)


def read_sets(sets: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``combined``'s recorded rows, the suspects' z per fused method ``(readings, methods)`` and the null members'
    z ``(readings x members, methods)``."""
    readings = pd.concat([pd.read_csv(RESULTS / f"audit-seeds-{s}" / "readings.csv.gz") for s in sets])
    nulls = pd.concat([pd.read_csv(RESULTS / f"audit-seeds-{s}" / "fused_null.csv.gz") for s in sets])
    combined = readings[readings.method == "combined"].set_index(READING)
    fused = readings[(readings.method != "combined") & readings.fused & readings.usable]
    suspects = fused.assign(z=z_of(fused.p_tail)).pivot_table(index=READING, columns="method", values="z")
    members = nulls.assign(z=z_of(nulls.p_tail)).pivot_table(index=[*READING, "member"], columns="method", values="z")
    return combined, suspects, members


def category(rows: pd.DataFrame) -> pd.Series:
    """The group, with label thieves split by what they queried (natural images or digits)."""
    natural = np.where(rows.queried == "natural", "label-natural", "label-digits")
    return pd.Series(np.where(rows.group == "extract-label", natural, rows.group), index=rows.index)


def score(fusion: Fusion, combined: pd.DataFrame, suspects: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """``combined`` as ``fusion`` would read it: ``statistic`` and ``verdict`` per reading."""
    several = suspects.index[suspects.notna().sum(axis=1) >= 2]
    statistic = combined.score.copy()  # one usable method: its own reading stands, as in the audit
    statistic.loc[several] = fusion(suspects.loc[several])
    null = fusion(members).groupby(level=READING).apply(list)
    verdict = combined.verdict.copy()
    floor = FUSED_SPREAD_FLOORS["by-attack"]
    for reading in several:
        value = statistic.loc[reading]
        verdict.loc[reading] = calibrate(-value, [-v for v in null.loc[reading]], 0.05, min_spread=floor).verdict
    return combined.assign(statistic=statistic, verdict=verdict, category=category(combined))


def zoo_aucs(read: pd.DataFrame) -> pd.DataFrame:
    """Each zoo's AUC per category: its thieves against the innocent readings whose ``neg_of`` names the category."""
    rows = []
    for zoo, z in read.reset_index().groupby("zoo"):
        negatives_of = z.neg_of.fillna("").str.split(";")
        for cat in (*GOAL, "label-digits"):
            thieves = z.statistic[z.category == cat]
            innocents = z.statistic[negatives_of.apply(lambda names, c=cat: NEGATIVES_OF.get(c, c) in names)]
            labels = np.r_[np.ones(len(thieves)), np.zeros(len(innocents))]
            rows.append((zoo, cat, roc_auc_score(labels, np.r_[thieves, innocents])))
    return pd.DataFrame(rows, columns=["zoo", "category", "auc"]).pivot(index="zoo", columns="category", values="auc")


def summary(read: pd.DataFrame) -> dict[str, object]:
    """One candidate's line of the table."""
    aucs = zoo_aucs(read)
    innocent = read.group.str.startswith("innocent")
    mlp = (read.architecture == "mlp") & read.category.isin(["extract-prob", "label-natural"])
    line: dict[str, object] = {}
    for cat, short in (("extract-prob", "prob"), ("label-natural", "label nat.")):
        line[short] = f"{aucs[cat].mean():.3f} / {aucs[cat].min():.3f}, {(aucs[cat] >= 0.95).sum()}"
    line["all five at goal"] = int((aucs[list(GOAL)].min(axis=1) >= 0.95).sum())
    line["innocent derived"] = f"{(read.verdict[innocent] == 'derived').sum()} of {innocent.sum()}"
    line["MLP thieves derived"] = f"{(read.verdict[mlp] == 'derived').sum()} of {mlp.sum()}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    combined, suspects, members = read_sets(args.sets)
    shipped = largest_of(EVERY, PROBABILITY, LABEL_ONLY)
    again = score(shipped, combined, suspects, members)
    assert np.allclose(again.statistic, combined.score, equal_nan=True), "the shipped fusion is not reproduced"
    assert (again.verdict == combined.verdict).all(), "the shipped verdicts are not reproduced"
    candidates: dict[str, Fusion] = {
        "shipped (by-attack)": shipped,
        "probability group with CKA": largest_of(EVERY, [*PROBABILITY, "cka"], LABEL_ONLY),
        "both aimed groups as a fourth hypothesis": largest_of(
            EVERY, PROBABILITY, LABEL_ONLY, PROBABILITY + LABEL_ONLY
        ),
        "unaimed methods instead of every method": largest_of(UNAIMED, PROBABILITY, LABEL_ONLY),
        "Stouffer's z under the null members' correlation": correlated_stouffer(members.corr()),
    }
    table = pd.DataFrame({name: summary(score(f, combined, suspects, members)) for name, f in candidates.items()}).T
    print(f"{combined.index.get_level_values('zoo').nunique()} zoos, shipped scores and verdicts reproduced")
    print("| candidate | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, line in table.iterrows():
        print(f"| {name} | " + " | ".join(str(v) for v in line) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
