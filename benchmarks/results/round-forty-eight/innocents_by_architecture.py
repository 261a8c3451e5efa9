"""After round forty-eight's report, a description for the next round (not a candidate): the innocent readings of
the source's task that the shipped audit calls ``derived``, per pair of source and innocent architectures, and how
many of them by-attack's label-only hypothesis decides (the largest of its three).

    python benchmarks/results/round-forty-eight/innocents_by_architecture.py 217-224 225-232 ...
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

HYPOTHESES = np.array(["every method", "probability", "label-only"])


def by_architecture(readings: readers.fit.Readings) -> pd.DataFrame:
    """Per (source architecture, innocent architecture): readings, ``derived``, and ``derived`` by label-only."""
    models = readings.models
    h = readers.fit.stouffer_by_group(models, readers.fit.by_attack_hypotheses(readings.methods))
    models = models.assign(hypothesis=HYPOTHESES[np.nanargmax(h, axis=1)])
    # a source's architecture is its fine-tuned models' (they keep it)
    sources = models[models["group"] == "finetune"].groupby(["zoo", "source"])["architecture"].first()
    innocent = models[models["group"] == "innocent-same"].join(
        sources.rename("source architecture"), on=["zoo", "source"]
    )
    derived = innocent["combined_verdict"] == "derived"
    table = innocent.assign(derived=derived, label=derived & (innocent["hypothesis"] == "label-only")).groupby(
        ["source architecture", "architecture"]
    )
    out = table.agg(readings=("model", "size"), derived=("derived", "sum"), by_label_only=("label", "sum"))
    return out.assign(rate=(out["derived"] / out["readings"]).round(3)).sort_values("rate", ascending=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    readings = readers.load_sets(args.sets)
    print(f"{readings.models['zoo'].nunique()} zoos, fusion by-attack, innocent readings of the source's task")
    with np.errstate(all="ignore"):  # 0 / 0 where no method of a hypothesis compares a row
        print(by_architecture(readings).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
