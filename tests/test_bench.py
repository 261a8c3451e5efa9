"""Testbeds: protocol-correct cases, metrics checked on known answers, and the CLI on the shipped zoo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gifviz.analysis.stats import bootstrap_rows, percentile_interval
from gifviz.bench import ipp, task_relatedness, unlearning
from gifviz.bench.suite import BenchConfig, bench_inputs, run_ipp, run_unlearning
from gifviz.cli import main
from gifviz.config import FieldConfig
from gifviz.hub import Zoo
from gifviz.hub.builtin import builtin_manifest_path
from gifviz.methods.run import MethodRun


@pytest.fixture(scope="module")
def zoo() -> Zoo:
    return Zoo.open(builtin_manifest_path("builtin"))


def table_run(distances: dict[tuple[str, str], float], samples: int = 4) -> MethodRun:
    """A method whose distances are given (symmetric), for checking the metrics."""

    def pair(a: str, b: str, rows) -> float:
        return distances.get((a, b), distances.get((b, a), 1.0))

    return MethodRun("table", "Table", "black-box", samples, samples, 0.0, pair)


def test_ipp_cases_follow_the_protocol(zoo):
    cases = ipp.ipp_cases(zoo)
    specs = {s.id: s for s in zoo.specs}
    assert {(c.source, c.category) for c in cases} == {(s, c) for s in ("src-cnn", "src-res") for c in ipp.CATEGORIES}
    for case in cases:
        assert all(specs[p].parent == case.source and specs[p].relation == case.category for p in case.positives)
        assert len(case.positives) == 5 and not set(case.positives) & set(case.negatives)
        if case.category == "transfer":
            assert {specs[n].relation for n in case.negatives} == {"transfer-independent"}
        else:
            assert {specs[n].relation for n in case.negatives} == {"independent", "source"}
            assert case.source not in case.negatives


def test_ipp_auc_is_one_when_derived_models_are_closest_and_nan_when_a_pair_cannot_be_scored(zoo):
    cases = ipp.ipp_cases(zoo)
    close = {(c.source, p): 0.1 for c in cases for p in c.positives}
    assert set(ipp.category_aucs(table_run(close), cases).values()) == {1.0}
    far = {(c.source, p): 1.5 for c in cases for p in c.positives}
    assert set(ipp.category_aucs(table_run(far), cases).values()) == {0.0}
    broken = dict(close) | {(cases[0].source, cases[0].negatives[0]): float("nan")}
    assert np.isnan(ipp.category_aucs(table_run(broken), cases)[cases[0].category])


def test_task_relatedness_metrics_on_known_rankings():
    truth = np.array([[1.0, 0.9, 0.1, 0.5], [0.8, 1.0, 0.2, 0.4], [0.1, 0.3, 1.0, 0.6], [0.5, 0.4, 0.7, 1.0]])
    perfect = task_relatedness.relatedness(1.0 - truth, truth)
    assert perfect == {"spearman": pytest.approx(1.0), "P@2": 1.0, "R@2": 1.0}
    reversed_ = task_relatedness.relatedness(truth, truth)
    assert reversed_["spearman"] == pytest.approx(-1.0) and reversed_["P@2"] < 1.0


def test_task_set_reads_the_shipped_transferability_matrix(zoo):
    task_set = task_relatedness.task_set(zoo)
    assert task_set.tasks == ("digit", "parity", "ge5", "colour", "background", "quadrant")
    assert task_set.transferability.shape == (6, 6) and task_set.transferability[0, 0] == pytest.approx(0.9605)


def test_unlearning_order_and_verdicts(zoo):
    bench = unlearning.unlearning_set(zoo)
    distances = {(bench.reference, m): 0.2 for m in bench.groups["unlearned"]}
    distances |= {(bench.reference, m): 0.6 for m in bench.groups["retrained"]}
    distances |= {(bench.reference, m): 0.9 for m in bench.groups["unrelated"]}
    scores = unlearning.unlearning_scores(table_run(distances), bench)
    assert scores["order holds"] == 1.0 and scores["unlearned caught"] == 1.0
    verdicts = pd.DataFrame(unlearning.verdicts(table_run(distances), bench))
    assert set(verdicts.loc[verdicts.group == "unlearned", "verdict"]) == {"close to the original"}
    assert set(verdicts.loc[verdicts.group == "retrained", "verdict"]) == {"like retraining"}


def test_bootstrap_interval_brackets_the_estimate():
    rows = bootstrap_rows(50, 300, seed=1)
    values = np.random.default_rng(0).normal(size=50)
    low, high = percentile_interval([values[r].mean() for r in rows])
    assert low < values.mean() < high and high - low < 1.0
    assert percentile_interval([float("nan")]) == pytest.approx((float("nan"), float("nan")), nan_ok=True)


def test_modelgif_separates_fine_tuned_and_pruned_models_and_orders_unlearning(zoo):
    config = BenchConfig(
        field=FieldConfig(steps=8), methods=("modelgif", "cka"), n_refs=16, sweep=(8, 16), resamples=20
    )
    inputs = bench_inputs(zoo, config)
    result = run_ipp(inputs, config)
    aucs = result.table[result.table.method == "modelgif"].set_index("metric")["value"]
    assert aucs["finetune"] == 1.0 and aucs["prune"] == 1.0
    assert set(result.sweep["samples"]) == {8, 16}
    assert (result.table["low"] <= result.table["value"] + 1e-12).all()
    unlearned = run_unlearning(inputs, config).table.set_index(["method", "metric"])["value"]
    assert unlearned[("modelgif", "order holds")] == 1.0


def test_cli_prints_tables_and_writes_csvs(zoo, tmp_path, capsys):
    code = main(
        [
            "bench",
            "unlearning",
            str(zoo.manifest.path),
            "--methods",
            "modelgif,sac-m,softmax",
            "--n",
            "8",
            "--sweep",
            "4,8",
            "--resamples",
            "10",
            "--steps",
            "4",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "ModelGiF" in out and "SAC-m" in out and "n/a" in out  # softmax cannot score unrelated tasks
    table = pd.read_csv(tmp_path / "unlearning.csv")
    assert set(table["method"]) == {"modelgif", "sac-m", "softmax"}
    assert (tmp_path / "unlearning_sweep.csv").exists() and (tmp_path / "unlearning_details.csv").exists()


def test_cli_rejects_an_unknown_method(zoo, capsys):
    assert main(["bench", "ipp", str(zoo.manifest.path), "--methods", "modelgif,magic"]) == 2
    assert "unknown methods ['magic']" in capsys.readouterr().err


def test_task_details_give_a_labelled_matrix_for_the_similarity_tree():
    from gifviz.analysis.clustering import cluster
    from gifviz.bench.task_relatedness import task_distance_matrix

    tasks_ = ["digit", "parity", "colour"]
    values = {("digit", "parity"): 0.2, ("digit", "colour"): 0.9, ("parity", "colour"): 0.8}
    details = pd.DataFrame(
        [
            {
                "method": "m",
                "source task": a,
                "target task": b,
                "transferability": 0.5,
                "distance": 0.0 if a == b else values.get((a, b), values.get((b, a))),
            }
            for a in tasks_
            for b in tasks_
        ]
    )
    matrix = task_distance_matrix(details, "m")
    assert matrix.labels == tuple(tasks_) and matrix.distance("parity", "colour") == 0.8
    first_merge = cluster(matrix, "average").linkage[0]
    assert sorted(first_merge[:2]) == [0, 1]  # digit and parity join first


def test_a_method_that_reads_no_reference_has_no_interval_no_sweep_and_costs_no_evaluation(zoo):
    from gifviz.audit.names import AUDIT_METHODS
    from gifviz.bench.costs import SECONDS_PER_MODEL_AT_32, evaluations_per_model, method_costs, method_title
    from gifviz.bench.report import headline, sweep_text

    config = BenchConfig(methods=("first-layer",), n_refs=16, sweep=(8, 16), resamples=20)
    inputs = bench_inputs(zoo, config)
    result = run_ipp(inputs, config)
    rows = result.table.set_index("metric")
    details = result.details[result.details["category"].isin(["finetune", "prune", "transfer"])]
    derived, innocent = details[details["derived"]], details[~details["derived"]]["distance"].dropna()
    assert derived["distance"].max() < 0.05 < 0.5 < innocent.min()  # weights kept, from the source only
    # models of other first-layer shapes have no distance, so the testbed's AUC (every pair scored) is NaN
    assert rows["value"].isna().all() and innocent.size < (~details["derived"]).sum()
    assert (rows["samples"] == 0).all() and rows["low"].isna().all() and rows["evaluations per model"].eq(0).all()
    assert result.sweep.empty
    assert "read no reference" in headline(result) and "read no reference" in sweep_text(result)
    # every method the app or the audit can pick has a cost, and this one's does not grow with N
    assert set(SECONDS_PER_MODEL_AT_32) >= set(AUDIT_METHODS)
    assert evaluations_per_model("first-layer", 128, 10) == 0
    ids = list(zoo.ids)
    small, large = (method_costs(ids, ["first-layer"], inputs.references.head(k), config.field) for k in (8, 16))
    assert small[0].seconds == large[0].seconds
    # twins that read the same outputs: the second one costs only its distances
    for first, second in (("disagreement", "softmax"), ("off-task", "off-task-kappa")):
        alone, after = (
            method_costs(ids, [second], inputs.references, config.field)[0],
            method_costs(ids, [first, second], inputs.references, config.field)[1],
        )
        assert after.seconds < alone.seconds and after.note == f"reuses the outputs of {method_title(first)}"
