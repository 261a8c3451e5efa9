"""Round thirty-one's design reading: the candidate against the shipped audit on the five design zoos.

The candidate is each design run's ``fusion:by-attack`` (modelgif-crops among the methods), the shipped audit its
``combined without modelgif-crops`` column. Printed from the runs' selection.csv and verdicts.csv:

    python benchmarks/results/round-thirty-one/design.py benchmarks/results/round-thirty-one/design-217-229-248 \
        benchmarks/results/round-thirty-one/design-220-228
"""

from __future__ import annotations

import sys

import pandas as pd

AUDITS = {"candidate": "fusion:by-attack", "shipped": "combined without modelgif-crops"}
# The criterion's four categories (DECLARED.md), then the others, printed only.
CRITERION = ["finetune", "prune", "extract-label [natural]", "extract-prob"]
OTHERS = ["transfer", "extract-label", "extract-label [digits:attacker]"]
INNOCENT = ["innocent, same task", "innocent, other task"]
VERDICTS = ["derived", "independent", "inconclusive", "n/a"]


def main(folders: list[str]) -> None:
    selection = pd.concat([pd.read_csv(f"{folder}/selection.csv") for folder in folders])
    verdicts = pd.concat([pd.read_csv(f"{folder}/verdicts.csv") for folder in folders])
    for name, column in AUDITS.items():
        aucs = selection[selection["column"] == column].pivot_table(index="zoo", columns="category", values="auc")
        print(f"{name:9s} criterion {aucs[CRITERION].min().mean():.4f}  zoos {len(aucs)}")
        for category in [*CRITERION, *OTHERS]:
            values = aucs[category]
            print(f"   {category:33s} mean {values.mean():.3f} worst {values.min():.3f} ({values.idxmin()})")
        # verdicts.csv names the audit as run by its fusion, the audit without a method by its column
        fusion = "by-attack" if name == "candidate" else column
        innocent = verdicts[(verdicts["fusion"] == fusion) & verdicts["group"].isin(INNOCENT)]
        same_task = innocent[innocent["group"] == INNOCENT[0]]
        print(
            f"   innocent readings derived {int(innocent['derived'].sum())} of {int(innocent[VERDICTS].sum().sum())};"
            f" same task only: {int(same_task['derived'].sum())} of {int(same_task[VERDICTS].sum().sum())}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
