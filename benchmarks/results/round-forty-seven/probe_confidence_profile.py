"""Round forty-seven's probe, on zoos already reported (not a candidate, never run on this round's seeds): does a
model's per-reference confidence profile read the MLP thieves that the shipped audit misses?

A student trained on the source's probabilities might copy *which* references the source is unsure of, beside the
ranking of the other classes that dark knowledge reads. For each model of the source's classes, per reference: its
margin (largest log-probability minus the next), and the log-probability it gives the source's answer minus its best
other class. Each profile is compared with the source's margins by Spearman's correlation over the references (the
audit's 128), and read per zoo, both sources pooled, as an AUC of a category against the innocent models of the
source's task (larger correlation = more derived); ModelDiff's z from the set's ``readings.csv.gz`` is read beside it
on the same pairs. No calibration against the independents: this asks only whether the signal is there.

    OMP_NUM_THREADS=1 python benchmarks/results/round-forty-seven/probe_confidence_profile.py 378-385
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score

from gifviz.audit.provenance import default_references
from gifviz.hub.zoo import Zoo
from gifviz.methods.peers.evaluation import model_outputs

RESULTS = Path(__file__).resolve().parents[1]
ZOOS = Path("/work/stress_zoos")
N_REFS = 128
PROFILES = ("margin", "source-answer", "modeldiff")
CATEGORIES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "MLP probability thieves": lambda g: (g.group == "extract-prob") & (g.architecture == "mlp"),
    "other probability thieves": lambda g: (g.group == "extract-prob") & (g.architecture != "mlp"),
    "MLP natural-image label thieves": lambda g: (
        (g.group == "extract-label") & (g.queried == "natural") & (g.architecture == "mlp")
    ),
    "other natural-image label thieves": lambda g: (
        (g.group == "extract-label") & (g.queried == "natural") & (g.architecture != "mlp")
    ),
    "fine-tuned": lambda g: g.group == "finetune",
}


def margins(log_p: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """``(N,)``: the log-probability of ``answers`` minus the largest other class's, per reference."""
    others = np.where(np.eye(log_p.shape[1], dtype=bool)[answers], -np.inf, log_p).max(axis=1)
    return log_p[np.arange(len(log_p)), answers] - others


def zoo_profiles(readings: pd.DataFrame) -> list[dict]:
    """One row per (source, model of the source's classes) of one zoo's readings."""
    seed = readings["zoo"].iloc[0].rsplit("-", 1)[1]
    zoo = Zoo.open(ZOOS / f"fresh-seed-{seed}" / "zoo.toml")
    references, _ = default_references(zoo, N_REFS)
    log_p = {}
    for model in sorted(set(readings["model"]) | set(readings["source"])):
        with torch.no_grad():
            log_p[model] = model_outputs(zoo.load(model), references.images).double().log_softmax(1).numpy()
    rows = []
    for source, read in readings.groupby("source"):
        own = log_p[source]
        source_margin = margins(own, own.argmax(1))
        modeldiff = read[read["method"] == "modeldiff"].set_index("model")["p_tail"]
        for model, first in read.groupby("model").first().iterrows():
            theirs = log_p[model]
            if theirs.shape[1] != own.shape[1]:
                continue  # another task's head: no profile over the source's classes
            rows.append(
                {
                    "zoo": first["zoo"],
                    "source": source,
                    "model": model,
                    "group": first["group"],
                    "architecture": first["architecture"],
                    "queried": first["queried"],
                    "margin": stats.spearmanr(source_margin, margins(theirs, theirs.argmax(1))).statistic,
                    "source-answer": stats.spearmanr(source_margin, margins(theirs, own.argmax(1))).statistic,
                    "modeldiff": stats.norm.isf(modeldiff.get(model, np.nan)),
                }
            )
    return rows


def per_zoo_auc(profiles: pd.DataFrame, column: str, positive: Callable[[pd.DataFrame], pd.Series]) -> np.ndarray:
    aucs = []
    for _, zoo in profiles.groupby("zoo"):
        pos, neg = zoo.loc[positive(zoo), column], zoo.loc[zoo["group"] == "innocent-same", column]
        labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        aucs.append(roc_auc_score(labels, np.r_[pos, neg]))
    return np.asarray(aucs)


def main(argv: Sequence[str]) -> int:
    torch.set_num_threads(1)
    rows = []
    for name in argv:
        readings = pd.read_csv(RESULTS / f"audit-seeds-{name}" / "readings.csv.gz")
        for _, zoo in readings.groupby("zoo"):
            rows += zoo_profiles(zoo)
    profiles = pd.DataFrame(rows)
    print(f"{profiles['zoo'].nunique()} zoos; AUC against the innocent models of the source's task, mean / worst zoo")
    print("| category | " + " | ".join(PROFILES) + " |\n|---|" + "---|" * len(PROFILES))
    for category, positive in CATEGORIES.items():
        cells = [per_zoo_auc(profiles, c, positive) for c in PROFILES]
        print(f"| {category} | " + " | ".join(f"{a.mean():.3f} / {a.min():.2f}" for a in cells) + " |")
    print("\nmean Spearman correlation of the margins with the source's, by kind and architecture:")
    mean = profiles.groupby(["group", "architecture"])["margin"].mean().unstack().round(2)
    print(mean.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
