"""ModelGiF variants for IP protection, chosen on one source's lineage and scored on the other's.

A method change counts only if it was not tuned on the models it is scored on. The built-in zoo has two sources with
disjoint lineages, so the split is natural: every variant is scored per source; the variant with the best mean
extraction AUC on the tuning source is picked, then reported on the held-out source, beside the paper's setting.

    python benchmarks/heldout_variants.py --zoo assets/zoo/builtin/zoo.toml --n 64 --tune src-cnn

Prints one row per variant (AUC per attack category and source) and the pick; fields go through the field store, so a
second run only scores.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from gifviz.bench import ipp
from gifviz.bench.suite import BenchConfig, bench_inputs, run_ipp
from gifviz.config import FieldConfig
from gifviz.hub import Zoo
from gifviz.store import FieldStore

EXTRACTION = ("extract-label", "extract-prob", "extract-adv")


def variants(steps: int) -> dict[str, FieldConfig]:
    paper = FieldConfig(steps=steps)
    return {
        "paper: zero baseline, predicted logit": paper,
        "noise baseline": paper.replace(baseline="noise"),
        "raw gradients (not cumulative)": paper.replace(cumulative=False),
        "shuffled-reference baseline": paper.replace(baseline="shuffle"),
        "blur baseline": paper.replace(baseline="blur"),
        "log-softmax target": paper.replace(target="predicted_logsoftmax"),
        "channel-max of the penultimate layer": paper.replace(target="channel_max", layer="backbone"),
    }


def per_source_scores(details: pd.DataFrame) -> pd.DataFrame:
    """AUC and separation margin per (method, source, category) from the testbed's per-model distances.

    The margin is the nearest innocent model's distance minus the farthest derived model's, over the nearest innocent
    distance: positive when one threshold separates them, and larger when that threshold has room to spare. It ranks
    variants whose AUCs are all 1.00.
    """
    rows = []
    for (method, source, category), group in details.groupby(["method", "source", "category"]):
        derived, innocent = group[group["derived"]]["distance"], group[~group["derived"]]["distance"]
        rows.append(
            {
                "method": method,
                "source": source,
                "category": category,
                "auc": ipp.auc(group["derived"].astype(int).tolist(), (-group["distance"]).tolist()),
                "margin": (innocent.min() - derived.max()) / innocent.min(),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", default="assets/zoo/builtin/zoo.toml")
    parser.add_argument("--n", type=int, default=64, help="references")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--tune", default="src-cnn", help="the source whose lineage picks the variant")
    args = parser.parse_args()

    zoo = Zoo.open(args.zoo)
    configs = variants(args.steps)
    names = {f"v{i}": title for i, title in enumerate(configs)}
    config = BenchConfig(
        field=configs[names["v0"]],
        methods=("modelgif",),
        n_refs=args.n,
        sweep=(args.n,),
        resamples=0,
        variants=tuple((key, configs[title]) for key, title in names.items() if key != "v0"),
    )
    result = run_ipp(bench_inputs(zoo, config, FieldStore()), config)
    scores = per_source_scores(result.details)
    scores["variant"] = scores["method"].map(lambda m: names["v0"] if m == "modelgif" else names[m.split(":", 1)[1]])
    pd.set_option("display.width", 250)
    tables = {}
    for value in ("auc", "margin"):
        tables[value] = scores.pivot_table(index="variant", columns=["source", "category"], values=value).loc[
            list(configs)
        ]
        print(f"{value} per source, N={args.n}, S={args.steps}; tuning source: {args.tune}")
        print(tables[value].round(2).to_string(), end="\n\n")
    # Pick on the tuning source: best mean extraction AUC, ties broken by the mean extraction margin.
    tuning = pd.DataFrame({value: tables[value][args.tune][list(EXTRACTION)].mean(axis=1) for value in tables})
    print(f"mean extraction AUC and margin on {args.tune} (tuning):")
    print(tuning.round(3).to_string())
    pick = str(tuning.sort_values(["auc", "margin"], ascending=False).index[0])
    print(f"\npicked on {args.tune}: {pick}")
    for source in sorted(set(scores["source"]) - {args.tune}):
        for value in tables:
            paper, chosen = tables[value].loc[names["v0"], source], tables[value].loc[pick, source]
            print(
                f"held out {source}, {value}: "
                + ", ".join(f"{c} {paper[c]:.2f} -> {chosen[c]:.2f}" for c in chosen.index)
            )
            print(
                f"held out {source}, mean extraction {value}: paper {np.mean([paper[c] for c in EXTRACTION]):.3f}, "
                f"pick {np.mean([chosen[c] for c in EXTRACTION]):.3f}"
            )


if __name__ == "__main__":
    main()
