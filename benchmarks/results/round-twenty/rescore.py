"""Round twenty's refit weights (not shipped) beside the shipped and equal weights on the report's readings.

Recomputes ``combined`` from ``benchmarks/results/audit-seeds-169-176``'s readings exactly as the audit reads it
(``benchmarks/fit_fusion_weights.py``: ``calibrated`` and ``scored``, the fit's four categories) under each weighting,
and prints the criterion, each category's worst case and the innocent readings of the source's task called
``derived``. No model runs.

    python benchmarks/results/round-twenty/rescore.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1]
SCRIPT = RESULTS.parents[0] / "fit_fusion_weights.py"


def main() -> None:
    spec = importlib.util.spec_from_file_location("fit_fusion_weights", SCRIPT)
    fit = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = fit  # its dataclass looks its module up while it is made
    spec.loader.exec_module(fit)
    report = RESULTS / "audit-seeds-169-176"
    readings = fit.load_readings([report / "readings.csv.gz"], [report / "fused_null.csv.gz"])
    matched, left = fit.reproduced(readings)
    print(
        f"the audit's own combined reproduced by the shipped weights on {len(matched['fitted-weights'])} zoos; "
        f"largest difference left {left:.2e}"
    )
    refit = json.loads((Path(__file__).parent / "fit.json").read_text())["weights"]
    weightings = {"refit (not shipped)": refit, "shipped": fit.BASELINES["fitted-weights"], "equal (stouffer)": {}}
    for name, weights in weightings.items():
        criterion, (derived, innocent) = fit.scored(readings, weights)
        worst = fit.worst_aucs(readings.models, fit.calibrated(readings, weights)["score"].to_numpy())
        cells = ", ".join(f"{category} {auc:.4f}" for category, auc in worst.items())
        print(f"{name}: criterion {criterion:.4f}; worst {cells}; innocent derived {derived} of {innocent}")


if __name__ == "__main__":
    main()
