"""``benchmarks/fit_fusion_weights.py``: the audit's second calibration recomputed from readings, the worst-case
criterion, a search that finds the one method that carries the evidence, and the cross-fit's halves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark
from scipy import stats

from gifviz.audit import calibrate
from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, P_FLOOR, weighted_stouffer
from gifviz.audit.names import DEFAULT_ALPHA
from tests.test_audit import _at

CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob")


@pytest.fixture(scope="module")
def fitting():
    return load_benchmark("fit_fusion_weights")


def _folder(path: Path, zoos: int = 4, seed: int = 0) -> Path:
    """audit_selection's readings.csv and fused_null.csv: per zoo, 6 innocent models and 3 models of each category;
    method ``signal`` sees the derived models (z near 2.5), ``noise`` sees nothing. Each model's null is the innocent
    models other than itself, with their own z."""
    rng = np.random.default_rng(seed)
    readings, null = [], []
    for zoo in range(zoos):
        name = f"gifviz-stress-{zoo + 9}"
        models = [(f"ind-{i}", "innocent-same", ";".join(CATEGORIES)) for i in range(6)]
        models += [(f"{c}-{i}", c, "") for c in CATEGORIES for i in range(3)]
        z = {
            (m, method): 2.5 * (g != "innocent-same") * (method == "signal") + rng.normal()
            for m, g, _ in models
            for method in ("signal", "noise")
        }
        for model, group, neg_of in models:
            row = {"zoo": name, "source": "src-a", "model": model, "group": group, "neg_of": neg_of, "queried": ""}
            for method in ("signal", "noise"):
                p = float(stats.norm.sf(z[(model, method)]))
                readings.append({**row, "method": method, "score": 0.0, "p_tail": p, "usable": True})
                null += [
                    {
                        "zoo": name,
                        "source": "src-a",
                        "model": model,
                        "member": j,
                        "method": method,
                        "p_tail": float(stats.norm.sf(z[(j, method)])),
                    }
                    for j, g, _ in models
                    if g == "innocent-same" and j != model
                ]
            readings.append(
                {**row, "method": "combined", "score": 0.0, "p_tail": 0.5, "verdict": "independent", "usable": True}
            )
    path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(readings).to_csv(path / "readings.csv", index=False)
    pd.DataFrame(null).to_csv(path / "fused_null.csv", index=False)
    return path


def test_the_script_reads_a_fusion_as_the_audit_does(fitting):
    assert fitting.P_FLOOR == P_FLOOR and FUSED_SPREAD_FLOORS["fitted-weights"] == fitting.SPREAD_FLOOR
    assert fitting.ALPHA == DEFAULT_ALPHA
    weights = {"signal": 2.0, "noise": 0.5}
    frame = pd.DataFrame({"signal": [1.5, 0.2, np.nan], "noise": [-0.3, 0.1, 0.4]})
    expected = [
        weighted_stouffer({"signal": _at(1.5), "noise": _at(-0.3)}, weights),
        weighted_stouffer({"signal": _at(0.2), "noise": _at(0.1)}, weights),
        weighted_stouffer({"noise": _at(0.4)}, weights),  # a method that cannot compare the model is left out
    ]
    assert fitting.fused(frame, ["signal", "noise"], weights) == pytest.approx(expected)


def test_a_models_combined_is_its_fused_statistic_against_its_null_members(fitting, tmp_path):
    readings = fitting.load_readings(*[[_folder(tmp_path / "f") / f] for f in ("readings.csv", "fused_null.csv")])
    weights = {"signal": 1.5}
    read = fitting.calibrated(readings, weights, "calibrated")  # the score as the audit gave it before round 26
    statistic = fitting.fused(readings.models, readings.methods, weights)
    for row in (0, 7, len(readings.models) - 1):  # an innocent model, then derived ones
        members = readings.members[readings.members["row"] == row]
        null = fitting.fused(members, readings.methods, weights)
        second = calibrate(-statistic[row], -null, DEFAULT_ALPHA, min_spread=0.5)
        assert read["score"][row] == pytest.approx(second.score)
        assert read["p_tail"][row] == pytest.approx(second.p_tail)
        assert read["p_value"][row] == pytest.approx(second.p_value) and read["verdict"][row] == second.verdict
    # as the audit gives it since round twenty-six: the score is the statistic, nothing else changes
    shipped = fitting.calibrated(readings, weights)
    assert shipped["score"].to_numpy() == pytest.approx(statistic)
    assert shipped[["p_value", "p_tail", "verdict"]].equals(read[["p_value", "p_tail", "verdict"]])
    with pytest.raises(ValueError, match="unknown combined score 'raw'"):
        fitting.calibrated(readings, weights, "raw")


def test_runs_that_scored_combined_differently_are_one_line(fitting, tmp_path, capsys):
    old, new = _folder(tmp_path / "old", zoos=2), _folder(tmp_path / "new", zoos=2, seed=1)
    # zoo names must differ for the two folders to be read together
    frame = pd.read_csv(new / "readings.csv")
    frame["zoo"] = frame["zoo"].str.replace("gifviz-stress-", "gifviz-stress-1", regex=False)
    frame.to_csv(new / "readings.csv", index=False)
    frame = pd.read_csv(new / "fused_null.csv")
    frame["zoo"] = frame["zoo"].str.replace("gifviz-stress-", "gifviz-stress-1", regex=False)
    frame.to_csv(new / "fused_null.csv", index=False)
    (new / "selection.json").write_text('{"combined_score": "fused"}')  # a run from round twenty-six on
    assert fitting.recorded_combined_score(old) == "calibrated" and fitting.recorded_combined_score(new) == "fused"
    assert fitting.main([str(old), str(new)]) == 2
    assert "scored combined differently" in capsys.readouterr().err


def test_the_loader_keeps_what_a_thief_queried_and_reads_the_groups_asked(fitting, tmp_path):
    folder = _folder(tmp_path / "f", zoos=1)
    frame = pd.read_csv(folder / "readings.csv", keep_default_na=False)
    frame.loc[frame["model"] == "extract-label-0", "queried"] = "natural"
    frame.to_csv(folder / "readings.csv", index=False)
    files = [folder / "readings.csv"], [folder / "fused_null.csv"]
    readings = fitting.load_readings(*files)
    by_model = readings.models.set_index("model")["queried"]
    assert by_model["extract-label-0"] == "natural" and by_model["extract-label-1"] == ""
    only = fitting.load_readings(*files, groups=("extract-label", "innocent-same"))
    assert set(only.models["group"]) == {"extract-label", "innocent-same"}
    scores = np.where(readings.models["group"] == "innocent-same", 0.0, 1.0)
    assert fitting.worst_aucs(readings.models, scores, ("prune",)) == {"prune": 1.0}


def test_the_search_weighs_the_method_that_sees_the_thieves_and_cross_fits_on_halves(fitting, tmp_path):
    folder = _folder(tmp_path / "f", zoos=4)
    readings = fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"])
    assert readings.methods == ["signal", "noise"]  # combined is not a method to weigh
    # a subset renumbers its members: each model reads the same against its own null as in the whole
    part = readings.subset(["gifviz-stress-10"])
    whole = fitting.calibrated(readings, {})[(readings.models["zoo"] == "gifviz-stress-10").to_numpy()]
    assert len(part.models) == 18
    assert np.allclose(fitting.calibrated(part, {})["score"].to_numpy(), whole["score"].to_numpy())
    weights = fitting.fit(readings, log=lambda line: None)
    assert weights["signal"] > weights["noise"]
    out = tmp_path / "fit.json"
    assert fitting.main([str(folder), "--out", str(out)]) == 0
    written = pd.read_json(out, typ="series")
    assert [f["fitted_on"] for f in written["folds"]] == [
        ["gifviz-stress-11", "gifviz-stress-12"],
        ["gifviz-stress-9", "gifviz-stress-10"],  # natural order: 9 before 10
    ]
    assert written["weights"] == weights


def test_too_little_to_cross_fit_is_one_line(fitting, tmp_path, capsys):
    assert fitting.main([str(_folder(tmp_path / "f", zoos=3))]) == 2
    assert capsys.readouterr().err.strip() == "fit_fusion_weights: error: cross-fitting needs at least 4 zoos"
    assert fitting.main([str(tmp_path / "none")]) == 2
    assert "readings.csv is missing; run audit_selection.py --out" in capsys.readouterr().err


def test_the_worst_auc_pools_a_zoos_sources_and_counts_a_model_without_a_score_as_the_audit_does(fitting):
    """Per zoo, one category's models against the models named its negatives, both sources pooled; a NaN AUC (a
    category whose models have no score) counts 0, as audit_selection's criterion counts it."""
    models = pd.DataFrame(
        {
            "zoo": ["z"] * 6,
            "source": ["a", "a", "a", "b", "b", "b"],
            "group": ["finetune", "innocent-same", "innocent-same", "finetune", "innocent-same", "extract-prob"],
            "neg_of": ["", "finetune", "extract-prob", "", "finetune;extract-prob", ""],
        }
    )
    scores = np.array([3.0, 1.0, 5.0, 0.5, 2.0, np.nan])
    worst = fitting.worst_aucs(models, scores)
    # finetune: 3.0 and 0.5 against the two innocent models named its negatives (1.0 and 2.0), not the one at 5.0
    assert worst["finetune"] == pytest.approx(0.5)
    assert worst["extract-prob"] == 0.0  # no score: NaN, counted 0
    assert np.isnan(worst["prune"])  # no such models in the zoo: not read


def test_a_model_read_by_one_method_keeps_the_audits_own_reading(fitting, tmp_path):
    folder = _folder(tmp_path / "f", zoos=4)
    readings = pd.read_csv(folder / "readings.csv")
    null = pd.read_csv(folder / "fused_null.csv")
    alone = (readings["model"] == "finetune-0") & (readings["zoo"] == "gifviz-stress-9")
    readings = readings[~(alone & (readings["method"] == "noise"))]
    readings.loc[alone & (readings["method"] == "combined"), ["score", "verdict"]] = [4.2, "derived"]
    null = null[~((null["model"] == "finetune-0") & (null["zoo"] == "gifviz-stress-9"))]
    readings.to_csv(folder / "readings.csv", index=False)
    null.to_csv(folder / "fused_null.csv", index=False)
    loaded = fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"])
    read = fitting.calibrated(loaded, {"signal": 3.0})
    row = ((loaded.models["model"] == "finetune-0") & (loaded.models["zoo"] == "gifviz-stress-9")).to_numpy()
    assert read["score"][row].item() == 4.2 and read["verdict"][row].item() == "derived"


def test_a_zoo_given_twice_is_one_line(fitting, tmp_path, capsys):
    folder = _folder(tmp_path / "f", zoos=4)
    copy = tmp_path / "g"
    copy.mkdir()
    for name in ("readings.csv", "fused_null.csv"):
        (copy / name).write_text((folder / name).read_text())
    assert fitting.main([str(folder), str(copy)]) == 2
    assert "is read twice: give each zoo once" in capsys.readouterr().err


def test_a_usable_method_combined_does_not_read_is_not_fused(fitting, tmp_path):
    folder = _folder(tmp_path / "f", zoos=2)
    frame = pd.read_csv(folder / "readings.csv")
    # as audit_selection writes it: combined reads signal only (noise set aside, as the weight scope sets a method)
    frame["fused"] = frame["method"] == "signal"
    frame.to_csv(folder / "readings.csv", index=False)
    readings = fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"])
    assert readings.methods == ["signal"] and "noise" not in readings.models


def test_each_zoo_is_checked_against_the_weights_its_audit_fused_with_and_the_baseline_is_chosen(
    fitting, tmp_path, monkeypatch
):
    """Readings from audits of two defaults (equal weights before round eighteen, the fitted ones since) are each
    reproduced by their own weights; ``--baseline`` names the weights the fit is compared against."""
    monkeypatch.setitem(fitting.BASELINES, "fitted-weights", {"signal": 2.0})
    folder = _folder(tmp_path / "f", zoos=4)
    loaded = fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"])
    zoo = loaded.models["zoo"]
    equal, shipped = (fitting.calibrated(loaded, w)["score"] for w in ({}, {"signal": 2.0}))
    frame = pd.read_csv(folder / "readings.csv")
    for (z, model), e, s in zip(zip(zoo, loaded.models["model"], strict=True), equal, shipped, strict=True):
        row = (frame["zoo"] == z) & (frame["model"] == model) & (frame["method"] == "combined")
        frame.loc[row, "score"] = e if z in ("gifviz-stress-9", "gifviz-stress-10") else s
    frame.to_csv(folder / "readings.csv", index=False)
    matched, left = fitting.reproduced(fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"]))
    assert matched == {
        "stouffer": ["gifviz-stress-10", "gifviz-stress-9"],
        "fitted-weights": ["gifviz-stress-11", "gifviz-stress-12"],
    }
    assert left == 0.0
    out = tmp_path / "fit.json"
    assert fitting.main([str(folder), "--baseline", "fitted-weights", "--out", str(out)]) == 0
    written = pd.read_json(out, typ="series")
    assert written["baseline"] == {"name": "fitted-weights", "weights": {"signal": 2.0}}
    fold = written["folds"][0]
    read = fitting.load_readings([folder / "readings.csv"], [folder / "fused_null.csv"]).subset(fold["scored_on"])
    assert fold["baseline"] == pytest.approx(fitting.scored(read, {"signal": 2.0})[0])


def test_hypotheses_are_stouffers_z_of_each_group_and_the_cross_check_catches_a_gap(fitting):
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [2.0, np.nan], "c": [0.5, 1.5]})
    z = fitting.stouffer_by_group(frame, [["a", "b", "c"], ["a", "b"]])
    assert z[0] == pytest.approx([3.5 / np.sqrt(3), 3.0 / np.sqrt(2)])
    assert z[1, 0] == pytest.approx(1.5) and np.isnan(z[1, 1])  # no method of the group compares that row
    models = pd.DataFrame({"zoo": ["z1", "z1", "z2"], "combined": [1.0, np.nan, 5.0]})
    assert fitting.audit_gap(models, np.array([1.0, np.nan, 9.0]), {"z1"}) == (0.0, 2)
    with pytest.raises(AssertionError, match="not the audit's"):
        fitting.audit_gap(models, np.array([1.0, 2.0, 5.0]), {"z1"})  # a score the audit did not give
    with pytest.raises(AssertionError, match="not the audit's"):
        fitting.audit_gap(models, np.array([1.0, np.nan, 9.0]), {"z2"})
