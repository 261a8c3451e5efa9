"""The figures round forty-eight's candidate was chosen on (DECLARED.md, ``gifviz.audit.names.ATTACK_GROUP_WEIGHTS``),
from the report sets already scored: the median tail z of source flips and off-task for the natural-image label
thieves (MLPs and the others) and for the innocent models of the source's task; the off-task z of the innocent
readings that by-attack's label-only hypothesis ranks above a quarter of the thieves in the seeds named; and the
largest gap between the library's ``by-attack-off-task-half`` and the search's statistic over a sample of the stored
readings.

    python benchmarks/results/round-forty-eight/search_figures.py 217-224 225-232 ...
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "round-forty-four"))
sys.path.insert(0, str(HERE))  # this round's search.py (round forty-six's is not on the path here)

import fusions_from_readings as readers  # noqa: E402
import search  # noqa: E402

from gifviz.audit.calibration import Calibration  # noqa: E402
from gifviz.audit.fusion import FUSIONS  # noqa: E402

OFF_TASK, SOURCE_FLIPS = "off-task", "source-flips"
LIFTED_SEEDS = (298, 313, 376, 403, 417)
SAMPLE = 3000


def medians(models: pd.DataFrame) -> pd.DataFrame:
    """Median tail z of source flips and off-task ``(kinds, 2)`` per kind of model."""
    natural = (models["group"] == "extract-label") & (models["queried"] == "natural")
    mlp = models["architecture"] == "mlp"
    kinds = {
        "natural-image label thieves, MLP": natural & mlp,
        "natural-image label thieves, other": natural & ~mlp,
        "innocent, source's task": models["group"] == "innocent-same",
    }
    return pd.DataFrame({k: models.loc[rows, [SOURCE_FLIPS, OFF_TASK]].median() for k, rows in kinds.items()}).T


def lifted_innocents(readings: readers.fit.Readings) -> pd.DataFrame:
    """In each seed of :data:`LIFTED_SEEDS`, the innocent readings of the source's task that ``combined`` ranks above
    a quarter of the source's probability and natural-image label thieves and whose largest by-attack hypothesis is
    the label-only one, with their off-task and source flips z."""
    models = readings.models
    hypotheses = readers.fit.stouffer_by_group(models, readers.fit.by_attack_hypotheses(readings.methods))
    label_decides = np.nanargmax(hypotheses, axis=1) == 2  # every method, probability, label-only
    thieves = (models["group"] == "extract-prob") | (
        (models["group"] == "extract-label") & (models["queried"] == "natural")
    )
    quarter = models[thieves].groupby(["zoo", "source"])["combined"].quantile(0.25).rename("quarter")
    innocent = models[(models["group"] == "innocent-same") & label_decides].join(quarter, on=["zoo", "source"])
    zoos = [f"gifviz-stress-{s}" for s in LIFTED_SEEDS]
    lifted = innocent[innocent["zoo"].isin(zoos) & (innocent["combined"] > innocent["quarter"])]
    return lifted[["zoo", "source", "model", OFF_TASK, SOURCE_FLIPS, "combined"]].sort_values(OFF_TASK)


def library_gap(readings: readers.fit.Readings) -> float:
    """The largest gap between the library's fusion and the search's statistic over :data:`SAMPLE` stored readings."""
    sample = readings.models.sample(min(SAMPLE, len(readings.models)), random_state=0).reset_index(drop=True)
    ours = search.library_candidate()(sample, readings.methods)
    fuse = FUSIONS["by-attack-off-task-half"]
    gaps = []
    for i, row in sample.iterrows():
        calibrations = {
            m: Calibration(0.0, row[m], 0.5, float(stats.norm.sf(row[m])), 8, "independent")
            for m in readings.methods
            if not np.isnan(row[m])
        }
        gaps.append(abs(fuse(calibrations) - ours[i]))
    return float(max(gaps))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    readings = readers.load_sets(args.sets)
    models = readings.models
    print(f"{models['zoo'].nunique()} zoos: median tail z")
    print(medians(models).round(2).to_string())
    seeds = ", ".join(map(str, LIFTED_SEEDS))
    print(f"\ninnocent readings the label-only hypothesis ranks above a quarter of the thieves in seeds {seeds}:")
    print(lifted_innocents(readings).round(2).to_string(index=False))
    print(f"\nlibrary against search, largest gap over {SAMPLE} readings: {library_gap(readings):.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
