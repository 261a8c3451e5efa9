"""``benchmarks/fit_fusion_weights.py``: the approximate second calibration, the worst-case criterion, and a search
that finds the one method that carries the evidence."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fit_fusion_weights.py"


@pytest.fixture(scope="module")
def fitting():
    spec = importlib.util.spec_from_file_location("fit_fusion_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readings(path: Path, zoos: int = 4, seed: int = 0) -> Path:
    """A readings.csv in audit_selection's layout: per zoo, 6 innocent models and 3 models of each category; method
    ``signal`` sees the derived models (z near 2.5), ``noise`` sees nothing (z near 0 for everyone)."""
    rng = np.random.default_rng(seed)
    rows = []
    categories = ("finetune", "prune", "extract-label", "extract-prob")
    for zoo in range(zoos):
        models = [(f"ind-{i}", "innocent-same", ";".join(categories)) for i in range(6)]
        models += [(f"{c}-{i}", c, "") for c in categories for i in range(3)]
        for model, group, neg_of in models:
            derived = group != "innocent-same"
            for method, z in (("signal", 2.5 * derived + rng.normal()), ("noise", rng.normal())):
                rows.append(
                    {
                        "zoo": f"gifviz-stress-{zoo + 9}",
                        "source": "src-a",
                        "model": model,
                        "group": group,
                        "neg_of": neg_of,
                        "queried": "",
                        "method": method,
                        "p_tail": float(stats.norm.sf(z)),
                        "usable": True,
                    }
                )
            rows.append({**rows[-1], "method": "combined"})  # ignored by the fit
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_an_innocent_model_is_read_against_the_others_only(fitting):
    frame = pd.DataFrame(
        {"zoo": "z", "source": "s", "group": ["innocent-same"] * 3 + ["finetune"], "neg_of": "", "signal": 0.0}
    )
    values = np.array([0.0, 1.0, 2.0, 4.0])
    scores = fitting.standardised(frame, values)
    # the derived model against all three innocent ones: mean 1, sd 1
    assert scores[3] == pytest.approx(3.0)
    # the innocent model at 2 against the other two (mean 0.5, sd 0.707)
    assert scores[2] == pytest.approx((2.0 - 0.5) / math.sqrt(0.5))
    # a spread below the floor is read at the floor (0.5): innocents at 0 and 0.2, the first left out of its own null
    scores = fitting.standardised(frame, np.array([0.0, 0.2, 0.2, 1.0]))
    assert scores[0] == pytest.approx((0.0 - 0.2) / 0.5)


def test_the_search_weighs_the_method_that_sees_the_thieves_and_the_cross_fit_scores_held_out_zoos(fitting, tmp_path):
    path = _readings(tmp_path / "readings.csv", zoos=4)
    frame, methods = fitting.load_readings([str(path)])
    assert methods == ["signal", "noise"]  # combined is not a method to weigh
    weights = fitting.fit(frame, methods, log=lambda line: None)
    assert weights["signal"] > weights["noise"]
    assert fitting.criterion(frame, methods, weights) >= fitting.criterion(frame, methods, {})
    out = tmp_path / "fit.json"
    assert fitting.main([str(path), "--out", str(out)]) == 0
    written = pd.read_json(out, typ="series")
    assert [f["fitted_on"] for f in written["folds"]] == [
        ["gifviz-stress-11", "gifviz-stress-12"],
        ["gifviz-stress-9", "gifviz-stress-10"],  # natural order: 9 before 10
    ]


def test_too_few_zoos_to_cross_fit_is_one_line(fitting, tmp_path, capsys):
    path = _readings(tmp_path / "readings.csv", zoos=3)
    assert fitting.main([str(path)]) == 2
    assert capsys.readouterr().err.strip() == "fit_fusion_weights: error: cross-fitting needs at least 4 zoos"
