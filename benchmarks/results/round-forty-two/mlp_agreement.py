"""Round forty-two's declared test (DECLARED.md): do the MLP thieves the audit calls ``derived`` copy their source
better than those it misses?

For each report set named (``346-353`` reads ``audit-seeds-346-353``), the MLP probability thieves and the MLP
label-only thieves that queried natural images, each with its agreement with its source on test digits
(``agreement_test`` of the zoo's ``checks.csv``, written by the build before any scoring), split by the audit's
verdict at 5% (``verdicts_by_model.csv``, fusion ``by-attack``). Prints each group's size, the median agreement of
those called ``derived`` and of the others, and the ROC-AUC of agreement as a score for ``derived`` (0.5: no relation).

    python benchmarks/results/round-forty-two/mlp_agreement.py 354-361 [--zoos /work/stress_zoos]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

RESULTS = Path(__file__).resolve().parents[1]


def mlp_thieves(sets: list[str], zoos: Path) -> pd.DataFrame:
    """One row per MLP thief of the sets' zoos (fusion ``by-attack``) with its ``agreement`` from ``checks.csv``."""
    verdicts = pd.concat(
        [pd.read_csv(RESULTS / f"audit-seeds-{s}" / "verdicts_by_model.csv") for s in sets], ignore_index=True
    )
    mlps = verdicts[(verdicts.fusion == "by-attack") & (verdicts.architecture == "mlp")].copy()
    agreement = {}
    for zoo in mlps.zoo.unique():
        checks = pd.read_csv(zoos / f"fresh-seed-{zoo.rsplit('-', 1)[1]}" / "checks.csv").set_index("model")
        agreement |= {(zoo, m): checks.loc[m, "agreement_test"] for m in mlps.model[mlps.zoo == zoo]}
    mlps["agreement"] = [agreement[(z, m)] for z, m in zip(mlps.zoo, mlps.model, strict=True)]
    return mlps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    parser.add_argument("--zoos", type=Path, default=Path("/work/stress_zoos"), help="folder of fresh-seed-S zoos")
    args = parser.parse_args()
    mlps = mlp_thieves(args.sets, args.zoos)
    groups = {
        "probability thieves": mlps[mlps.group == "extract-prob"],
        "natural-image label thieves": mlps[(mlps.group == "extract-label") & (mlps.queried == "natural")],
    }
    for name, thieves in groups.items():
        derived = thieves.verdict == "derived"
        both = derived.any() and (~derived).any()
        auc = roc_auc_score(derived, thieves.agreement) if both else float("nan")
        print(
            f"MLP {name}: {len(thieves)}, {derived.sum()} called derived; median agreement "
            f"{thieves.agreement[derived].median():.3f} derived / {thieves.agreement[~derived].median():.3f} others; "
            f"AUC of agreement for derived {auc:.3f}"
        )


if __name__ == "__main__":
    main()
