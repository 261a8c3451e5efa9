"""Round forty-eight's search (DECLARED.md): fusions aimed at the innocent readings that off-task and source flips
lift, tried on the report sets already scored, read from the per-method evidence they hold with the readers of
``round-forty-four/fusions_from_readings.py``.

Over those sets (seeds 217-288, 290-409 and 411-418; ``search_figures.py``), source flips reads every kind of
natural-image label thief, MLPs included (tail z median 2.11 for MLP thieves, 3.28 for the others, -0.28 for innocent
models of the source's task), while off-task reads the MLP label thieves weakly (median 1.21) and lifts some innocent
models (z 1.55-2.27 in seeds 298, 313, 376, 403, 417). The
candidates change only by-attack's label-only hypothesis. Each prints one line: probability thieves and
natural-image label thieves (mean / worst AUC over the zoos, and the zoos at 0.95 or more), the zoos at 0.95 or more
in all five goal categories, the innocent readings and the MLP thieves called ``derived`` at 5%; then the sets whose
every zoo is at the goal.

    python benchmarks/results/round-forty-eight/search.py 217-224 225-232 ... --halves 12
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

from gifviz.audit.names import ATTACK_GROUP_WEIGHTS  # noqa: E402

fit = readers.fit
LABEL_ONLY_GROUP = "label-only extraction with images of no class"  # the group of ATTACK_EVIDENCE
PROBABILITY, LABEL_ONLY = readers.PROBABILITY, readers.LABEL_ONLY
OFF_TASK, SOURCE_FLIPS = "off-task", "source-flips"


def label_weighted(weights: dict[str, float]) -> readers.Fusion:
    """by-attack with the label-only hypothesis as Stouffer's weighted z under ``weights`` (a label-only method
    not named weighs 1): the other hypotheses as shipped."""

    def fusion(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
        every, probability, label = fit.by_attack_hypotheses(methods)
        parts = fit.stouffer_by_group(z, [every, probability])
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = fit.fused(z, label, weights) if label else np.full(len(z), np.nan)
        return np.nanmax(np.c_[parts, weighted], axis=1)

    return fusion


def library_candidate() -> readers.Fusion:
    """The declared candidate, ``gifviz.audit.fusion.by_attack_off_task_half``, over columns: :func:`label_weighted`
    under the library's own weights (``ATTACK_GROUP_WEIGHTS``, which must weigh the label-only group alone)."""
    assert set(ATTACK_GROUP_WEIGHTS) == {LABEL_ONLY_GROUP}, "label_weighted weighs the label-only hypothesis only"
    return label_weighted(ATTACK_GROUP_WEIGHTS[LABEL_ONLY_GROUP])


def label_needs_flips(floor: float) -> readers.Fusion:
    """by-attack whose label-only hypothesis counts only where source flips reads the model at ``floor`` or more
    (a label-only thief answers the source's own flips as the source does; an innocent that only agrees off-task
    does not)."""

    def fusion(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
        h = fit.stouffer_by_group(z, fit.by_attack_hypotheses(methods))
        if SOURCE_FLIPS in methods:
            h[:, 2] = np.where(z[SOURCE_FLIPS].to_numpy() >= floor, h[:, 2], np.nan)
        return np.nanmax(h, axis=1)

    return fusion


CANDIDATES: dict[str, readers.Fusion] = {
    "shipped (by-attack)": readers.by_attack,
    "label-only: off-task weighed 0.75": label_weighted({OFF_TASK: 0.75}),
    "label-only: off-task weighed 0.5": label_weighted({OFF_TASK: 0.5}),
    "label-only: off-task weighed 0.25": label_weighted({OFF_TASK: 0.25}),
    "label-only: source flips alone": label_weighted({OFF_TASK: 0.0}),
    "label-only: source flips weighed 1.5": label_weighted({SOURCE_FLIPS: 1.5}),
    "label-only only where source flips z >= 0.5": label_needs_flips(0.5),
    "label-only only where source flips z >= 1": label_needs_flips(1.0),
    "label-only only where source flips z >= 1.5": label_needs_flips(1.5),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    parser.add_argument("--halves", type=int, default=0, help="also each part of the sets, split after this many")
    args = parser.parse_args(argv)
    readings = readers.load_sets(args.sets)
    readers.shipped_reproduced(readings)
    parts = [("all", args.sets)]
    if args.halves:
        parts += [("first part", args.sets[: args.halves]), ("second part", args.sets[args.halves :])]
    zoos = pd.Index(readings.models["zoo"].unique())
    in_set = pd.Series(readers.report_set(zoos, args.sets), index=zoos)
    for name, sets in parts:
        part = readings.subset(sorted(in_set.index[in_set.isin(sets)]))
        print(f"\n{name}: sets {sets[0]} to {sets[-1]}, {part.models['zoo'].nunique()} zoos")
        with np.errstate(all="ignore"):  # all-NaN largest where no hypothesis compares a row
            readers.print_table(part, CANDIDATES)
            print("sets whose every zoo is at the goal in all five categories:")
            for candidate, fusion in CANDIDATES.items():
                print(f"- {candidate}: {sets_at_goal(part, fusion, sets)} of {len(sets)}")
    return 0


def sets_at_goal(readings: fit.Readings, fusion: readers.Fusion, sets: Sequence[str]) -> int:
    """How many of ``sets`` have every zoo at 0.95 or more in all five goal categories under ``fusion``."""
    aucs = readers.zoo_aucs(readings.models, readers.read(readings, fusion)["score"].to_numpy())
    good = readers.at_goal(aucs)
    return int(good.groupby(readers.report_set(good.index, sets)).all().sum())


if __name__ == "__main__":
    raise SystemExit(main())
