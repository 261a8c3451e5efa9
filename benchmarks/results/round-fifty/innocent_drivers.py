"""Which hypothesis of the shipped fusion (by-attack) lifts each reading that it calls ``derived`` wrongly, and which
leaves a natural-image label thief uncalled: dark knowledge (probability extraction), the label-only methods, or
every method, each as Stouffer's z of the tail p-values (the fusion's own statistic, before its last calibration).

A description of the stored readings of report sets, to aim the next candidate; it chooses nothing.
    python benchmarks/results/round-fifty/innocent_drivers.py benchmarks/results/audit-seeds-{217-224,...}
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

KEY = ["zoo", "source", "model", "group", "architecture", "queried"]
LABEL_ONLY = ("off-task", "off-task-kappa", "source-flips", "source-crops", "modelgif-crops")


def hypotheses(folders: list[Path]) -> pd.DataFrame:
    """One row per reading: each hypothesis's z, the one that is largest, and the shipped verdict and score."""
    columns = [*KEY, "method", "score", "p_tail", "verdict", "usable"]
    readings = pd.concat(pd.read_csv(folder / "readings.csv.gz", usecols=columns) for folder in folders)
    readings["queried"] = readings["queried"].fillna("")
    readings["z"] = stats.norm.isf(readings["p_tail"].clip(1e-15, 1 - 1e-15))
    methods = readings[readings["usable"] & (readings["method"] != "combined")]
    z = methods.pivot_table(index=KEY, columns="method", values="z", aggfunc="first")
    combined = readings[readings["method"] == "combined"].set_index(KEY)[["score", "verdict"]]

    def stouffer(names: list[str]) -> pd.Series:
        present = z[names]
        return present.sum(axis=1, min_count=1) / np.sqrt(present.notna().sum(axis=1))

    table = pd.DataFrame(
        {
            "dark knowledge": z["dark-knowledge"],
            "label-only": stouffer([m for m in LABEL_ONLY if m in z]),
            "every method": stouffer(list(z.columns)),
        }
    )
    table["largest"] = table.idxmax(axis=1)
    return table.join(combined)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    table = hypotheses(parser.parse_args().folders)
    group = table.index.get_level_values("group")
    queried = table.index.get_level_values("queried")
    print(f"{table.index.get_level_values('zoo').nunique()} zoos")
    innocent = table[group == "innocent-same"]
    wrong = innocent[innocent["verdict"] == "derived"]
    print(f"\ninnocent readings of the source's task: {len(innocent)}, called derived: {len(wrong)}")
    print("their largest hypothesis:", wrong["largest"].value_counts().to_dict())
    percentile = innocent.iloc[:, :3].quantile(0.95).round(2).to_dict()
    print("95th percentile of each hypothesis over all of them:", percentile)
    thieves = table[(group == "extract-label") & (queried == "natural")]
    missed = thieves[thieves["verdict"] != "derived"]
    print(f"\nnatural-image label thieves: {len(thieves)}, not called derived: {len(missed)}")
    print("their largest hypothesis:", missed["largest"].value_counts().to_dict())
    median = thieves.groupby(thieves.index.get_level_values("architecture")).median(numeric_only=True)
    print("median z by the thief's architecture:")
    print(median[["dark knowledge", "label-only", "every method"]].round(2).to_string())


if __name__ == "__main__":
    main()
