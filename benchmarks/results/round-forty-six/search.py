"""Round forty-six's search (DECLARED.md): every fusion tried on the report sets before the candidate was declared,
read from the per-method evidence they hold with the readers of ``round-forty-four/fusions_from_readings.py``.

Each prints one line: probability thieves and natural-image label thieves (mean / worst AUC over the zoos, and the
zoos at 0.95 or more), the zoos at 0.95 or more in all five goal categories, the innocent readings and the MLP thieves
called ``derived`` at 5%.

    python benchmarks/results/round-forty-six/search.py 217-224 225-232 ...
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "round-forty-four"))

import design  # noqa: E402
import fusions_from_readings as readers  # noqa: E402

fit = readers.fit
PROBABILITY, LABEL_ONLY = readers.PROBABILITY, readers.LABEL_ONLY


def floored(floor: float, which: set[int]) -> readers.Fusion:
    """by-attack with each method's z raised to at least ``floor`` in the hypotheses ``which`` (0: every method, 1:
    probability, 2: label-only): a method that reads a model as farther from the source than the independents are
    says it is unlike the zoo's models, not that it is innocent."""

    def fusion(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
        raised = z.assign(**{m: z[m].clip(lower=floor) for m in methods})
        groups = fit.by_attack_hypotheses(methods)
        parts = [fit.stouffer_by_group(raised if i in which else z, [g])[:, 0] for i, g in enumerate(groups)]
        return np.nanmax(np.stack(parts, axis=1), axis=1)

    return fusion


def capped(cap: float) -> readers.Fusion:
    def fusion(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
        lowered = z.assign(**{m: z[m].clip(upper=cap) for m in methods})
        return np.nanmax(fit.stouffer_by_group(lowered, fit.by_attack_hypotheses(methods)), axis=1)

    return fusion


def soft_largest(temperature: float) -> readers.Fusion:
    """A smooth largest of by-attack's hypotheses (log-sum-exp): a second hypothesis near the first adds a little."""

    def fusion(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
        h = fit.stouffer_by_group(z, fit.by_attack_hypotheses(methods))
        top = np.nanmax(h, axis=1)
        return top + temperature * np.log(np.nansum(np.exp((h - top[:, None]) / temperature), axis=1))

    return fusion


def weaker_label_method(z: pd.DataFrame, methods: list[str]) -> np.ndarray:
    """Every method, probability, and the smaller of the label-only methods' z (both must see a label thief)."""
    h = fit.stouffer_by_group(z, [methods, readers.aimed(*PROBABILITY)(methods)])
    weaker = z.reindex(columns=[m for m in LABEL_ONLY if m in methods]).min(axis=1).to_numpy()
    return np.nanmax(np.c_[h, weaker], axis=1)


every, aimed = readers.every, readers.aimed
CANDIDATES: dict[str, Callable[[pd.DataFrame, list[str]], np.ndarray]] = {
    "shipped (by-attack)": readers.by_attack,
    "aimed groups only (no every-method hypothesis)": readers.largest_of(aimed(*PROBABILITY), aimed(*LABEL_ONLY)),
    "z floored at 0": floored(0.0, {0, 1, 2}),
    "z floored at -0.5": floored(-0.5, {0, 1, 2}),
    "z floored at -1": floored(-1.0, {0, 1, 2}),
    "z floored at -1.5": floored(-1.5, {0, 1, 2}),
    "z floored at -2": floored(-2.0, {0, 1, 2}),
    "z floored at 0, every method only": floored(0.0, {0}),
    "z floored at -1, every method only": floored(-1.0, {0}),
    "z floored at 0, aimed groups only": floored(0.0, {1, 2}),
    "z capped at 2": capped(2.0),
    "soft largest (log-sum-exp, 0.5)": soft_largest(0.5),
    "label-only group as its weaker method": weaker_label_method,
    "ModelDiff in the probability group": readers.largest_of(
        every, aimed(*PROBABILITY, "modeldiff"), aimed(*LABEL_ONLY)
    ),
    "ModelDiff in the label-only group": readers.largest_of(
        every, aimed(*PROBABILITY), aimed(*LABEL_ONLY, "modeldiff")
    ),
    "ModelDiff in both groups": readers.largest_of(
        every, aimed(*PROBABILITY, "modeldiff"), aimed(*LABEL_ONLY, "modeldiff")
    ),
    "ModelDiff as a hypothesis of its own": readers.largest_of(
        every, aimed(*PROBABILITY), aimed(*LABEL_ONLY), aimed("modeldiff")
    ),
    "each group alone and with ModelDiff (by-attack-modeldiff)": design.by_attack_modeldiff,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="report sets, as in audit-seeds-<set>")
    args = parser.parse_args(argv)
    readings = readers.load_sets(args.sets)
    print(f"{readings.models['zoo'].nunique()} zoos")
    with np.errstate(all="ignore"):  # 0 / 0 and all-NaN largest where no method of a hypothesis compares a row
        readers.print_table(readings, CANDIDATES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
