"""Round forty-six's candidate (DECLARED.md): ``by-attack-modeldiff`` against the shipped ``by-attack``, read from the
per-method evidence the report sets hold, without running a model.

``by-attack-modeldiff`` (:func:`gifviz.audit.fusion.by_attack_modeldiff`) takes the largest Stouffer's z over
``by-attack``'s hypotheses and over each group of ``ATTACK_EVIDENCE`` that can compare the model with ModelDiff
beside it. Read here from the tail z of each reading and of each member of its fused null, with the readers of
``round-forty-four/fusions_from_readings.py`` (which reproduce the shipped audit's every score and verdict, checked
again here). Where a set's ``verdicts_by_model.csv`` holds the audit's own verdicts of the candidate (sets scored
after the fusion joined ``gifviz.audit.fusion.FUSIONS``), the script checks that it gives the same ones.

For the shipped fusion and the candidate, over the sets given and over each set: probability thieves and
natural-image label thieves (mean / worst AUC over the zoos, and the zoos at 0.95 or more), the zoos at 0.95 or more
in all five goal categories, the sets whose every zoo is, the innocent readings called ``derived`` at 5% and the MLP
thieves called ``derived``.

    python benchmarks/results/round-forty-six/design.py 217-224 225-232 ...
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "round-forty-four"))

import fusions_from_readings as readers  # noqa: E402

from gifviz.audit.fusion import companion_hypotheses  # noqa: E402
from gifviz.audit.names import ATTACK_COMPANIONS  # noqa: E402

CANDIDATE = "by-attack-modeldiff"
fit = readers.fit


def by_attack_modeldiff(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
    """The candidate's statistic per row ``(R,)``: by-attack's hypotheses, and each aimed group that can compare the
    row with the companions that can beside it (no such hypothesis where either is missing, as in the library)."""
    hypotheses = [fit.stouffer_by_group(z, fit.by_attack_hypotheses(methods))]
    for group in companion_hypotheses(methods):
        aimed = [m for m in group if m not in ATTACK_COMPANIONS]
        companions = [m for m in group if m in ATTACK_COMPANIONS]
        # the library adds the hypothesis only where the model has both an aimed method and a companion
        both = z[aimed].notna().any(axis=1).to_numpy() & z[companions].notna().any(axis=1).to_numpy()
        hypotheses.append(np.where(both, fit.stouffer_by_group(z, [group])[:, 0], np.nan)[:, None])
    return np.nanmax(np.concatenate(hypotheses, axis=1), axis=1)


def own_verdicts(folders: Sequence[Path], models: pd.DataFrame, name: str = CANDIDATE) -> pd.Series | None:
    """The audit's own verdicts of the candidate ``name`` per model of ``models`` (NaN where a set has none), or None
    when no set has them."""
    tables = [pd.read_csv(f / "verdicts_by_model.csv") for f in folders]
    own = pd.concat([t[t["fusion"] == name] for t in tables])
    if own.empty:
        return None
    key = ["zoo", "source", "model"]
    return models[key].merge(own[[*key, "verdict"]], on=key, how="left")["verdict"]


def main(
    argv: Sequence[str] | None = None,
    name: str = CANDIDATE,
    fusion: readers.Fusion = by_attack_modeldiff,
    description: str | None = None,
) -> int:
    """The table for the candidate fusion ``name``, read by ``fusion`` (a later round's design passes its own, and
    the ``description`` its ``--help`` shows)."""
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    folders = [readers.RESULTS / f"audit-seeds-{s}" for s in args.sets]
    readings = readers.load_sets(args.sets)
    models = readings.models
    shipped = readers.shipped_reproduced(readings)
    candidate = readers.read(readings, fusion)
    print(f"{models['zoo'].nunique()} zoos; the shipped audit's scores and verdicts reproduced")
    own = own_verdicts(folders, models, name)
    if own is not None:
        scored = own.notna().to_numpy()
        agree = (own[scored] == candidate["verdict"][scored]).all()
        assert agree, "the candidate's verdicts here are not the audit's own"
        print(f"the audit's own verdicts of {name} reproduced ({scored.sum()} readings)")
    reads = {"shipped (by-attack)": shipped, name: candidate}
    table = pd.DataFrame({name: readers.summary(models, r) for name, r in reads.items()}).T
    print("| fusion | " + " | ".join(table.columns) + " | sets at goal |")
    print("|---" * (len(table.columns) + 2) + "|")
    aucs = {name: readers.zoo_aucs(models, r["score"].to_numpy()) for name, r in reads.items()}
    goal = pd.DataFrame({name: readers.at_goal(a) for name, a in aucs.items()})
    by_set = goal.groupby(readers.report_set(goal.index, args.sets), sort=False)
    sets_at_goal, zoos_at_goal = by_set.all(), by_set.sum()
    for row_name, line in table.iterrows():
        sets = f"{int(sets_at_goal[row_name].sum())} of {len(sets_at_goal)}"
        print(f"| {row_name} | " + " | ".join(str(v) for v in line) + f" | {sets} |")
    print("\nzoos at the goal in all five categories, per set (shipped, candidate):")
    for s, (ours, theirs) in zoos_at_goal.iterrows():
        print(f"  {s}: {ours} and {theirs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
