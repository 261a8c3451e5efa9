"""Round twenty-eight's quick check, run before DECLARED.md was written: off-task answers only, outside the audit.

For each stress zoo, every model of the digit task answers the audit's 512 off-task crops (seed 0); each model is
compared with its source (raw disagreement, and 1 - Cohen's kappa), and read in a simplified way: the suspect's
distance from the source against its own distances from the independents of the source's architecture (all the
independents when fewer than two), without the audit's floors. ``answers-217-232.csv`` is what it wrote; ``--table``
prints the AUCs DECLARED.md cites (natural-image label thieves built as MLPs, of other architectures, probability
thieves), mean / worst zoo.

    python benchmarks/results/round-twenty-eight/quick-check/quick_check.py 217 218 ... 232  # about 1 s per zoo
    python benchmarks/results/round-twenty-eight/quick-check/quick_check.py --table
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from gifviz.hub.zoo import Zoo
from gifviz.methods.natural_crops import crops_like
from gifviz.methods.peers.evaluation import model_outputs

HERE = Path(__file__).resolve().parent
ZOOS = Path("/work/stress_zoos")
FLOOR = 0.02  # the simplified reading's only floor on the independents' spread


def distances(answers: dict[str, np.ndarray]) -> dict[str, object]:
    """The two distances between two models' answers ``(512,)``."""
    return {
        "dis": lambda a, b: 1 - float(np.mean(answers[a] == answers[b])),
        "kap": lambda a, b: 1 - float(cohen_kappa_score(answers[a], answers[b], labels=np.arange(10))),
    }


def read_zoo(seed: int) -> list[dict[str, object]]:
    """One row per (source, model of its lineage or innocent): the distances and their simplified readings."""
    zoo = Zoo.open(ZOOS / f"fresh-seed-{seed}" / "zoo.toml")
    crops = crops_like(512, (128, 1, 16, 16), zoo.space.value_range, 0)
    spec = {i: zoo.spec(i) for i in zoo.ids}
    digit = [i for i in zoo.ids if spec[i].task == "digit"]
    with torch.no_grad():
        answers = {m: model_outputs(zoo.load(m), crops).argmax(1).numpy() for m in digit}
    independents = [i for i in digit if spec[i].relation == "independent"]
    rows = []
    for source in (i for i in digit if spec[i].relation == "source"):
        for model in digit:
            relation = spec[model].relation
            if model == source or (relation not in ("independent", "source") and spec[model].parent != source):
                continue
            kin = [k for k in independents if spec[k].arch == spec[source].arch and k != model]
            kin = kin if len(kin) >= 2 else [k for k in independents if k != model]
            group = "innocent" if relation in ("independent", "source") else relation
            row = {"seed": seed, "source": source, "model": model, "group": group, "arch": spec[model].arch}
            for name, distance in distances(answers).items():
                value = distance(source, model)
                raw = [distance(source, k) for k in independents if k != model]
                own = [distance(model, k) for k in kin]
                row[name] = value
                row[f"{name}_raw"] = (np.mean(raw) - value) / max(np.std(raw, ddof=1), FLOOR)
                row[f"{name}_cen"] = (np.mean(own) - value) / max(np.std(own, ddof=1), FLOOR)
            rows.append(row)
    return rows


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """AUC against the innocent models, per zoo, then mean / worst zoo, for each kind of thief and reading."""
    frame = frame.assign(kind=frame["model"].str.extract(r"^(xnat|xprob|xlabel|ft)")[0])
    readings = ["dis_raw", "dis_cen", "kap_raw", "kap_cen"]
    rows = []
    for seed, zoo in frame.groupby("seed"):
        innocent = zoo[zoo["group"] == "innocent"]
        for kind in ("xnat", "xprob"):
            thieves = zoo[zoo["kind"] == kind]
            for part, chosen in (
                ("all", thieves),
                ("mlp", thieves[thieves["arch"] == "mlp"]),
                ("other", thieves[thieves["arch"] != "mlp"]),
            ):
                labels = np.r_[np.ones(len(chosen)), np.zeros(len(innocent))]
                rows.append(
                    {
                        "seed": seed,
                        "kind": kind,
                        "part": part,
                        **{r: roc_auc_score(labels, np.r_[chosen[r], innocent[r]]) for r in readings},
                    }
                )
    return pd.DataFrame(rows).groupby(["kind", "part"])[readings].agg(["mean", "min"]).round(3)


def main(argv: list[str]) -> None:
    if argv == ["--table"]:
        print(table(pd.read_csv(HERE / "answers-217-232.csv")).to_string())
        return
    frame = pd.DataFrame([row for seed in map(int, argv) for row in read_zoo(seed)])
    frame.to_csv(HERE / f"answers-{argv[0]}-{argv[-1]}.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1:])
