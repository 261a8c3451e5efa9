"""Testbeds on a user's zoo: each says up front what its manifest lacks, and the tables say the N they really used."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import make_cnn, write_pngs, write_zoo

from gifviz.bench import ipp, unlearning
from gifviz.bench.report import headline, sweep_text
from gifviz.bench.suite import BenchConfig, bench_inputs, check_testbed, models_for, run_ipp, unsupported_testbeds
from gifviz.cli import main
from gifviz.config import FieldConfig
from gifviz.errors import ConfigError
from gifviz.hub import Zoo
from gifviz.methods import METHODS, MethodInputs
from gifviz.methods.run import MethodRun, method_run


def annotated_zoo(root: Path, models: dict[str, dict[str, str]], data: str = "", refs: int = 6) -> Path:
    """A TorchScript zoo whose ``[[models]]`` entries carry the given keys (``relation``, ``parent``, ``family``,
    ``task``), with ``refs`` reference images; ``data``: extra ``[data]`` lines. Returns the manifest path."""
    manifest = write_zoo(root, {model_id: make_cnn(i) for i, model_id in enumerate(models)},
                         extra=f"[data]\n{data}" if data else "")  # fmt: skip
    text = manifest.read_text()
    for model_id, keys in models.items():
        lines = "".join(f'\n{key} = "{value}"' for key, value in keys.items() if key != "task")
        text = text.replace(f'id = "{model_id}"', f'id = "{model_id}"{lines}', 1)
        if "task" in keys:  # write_zoo gives every model task = "digit"
            entry = text.index(f'id = "{model_id}"')
            start = text.index('task = "digit"', entry)
            text = text[:start] + f'task = "{keys["task"]}"' + text[start + len('task = "digit"') :]
    manifest.write_text('references = "refs"\n' + text)
    write_pngs(root / "refs", refs)
    return manifest


SOURCE_AND_CHILD = {"src": {"relation": "source"}, "child": {"relation": "finetune", "parent": "src"}}


def problem(manifest: Path, testbed: str) -> str:
    with pytest.raises(ConfigError) as caught:
        check_testbed(Zoo.open(manifest), testbed)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_cli_ipp_on_a_zoo_without_independent_models_says_what_to_add(tmp_path, capsys):
    manifest = annotated_zoo(tmp_path / "zoo", SOURCE_AND_CHILD)
    assert main(["bench", "ipp", str(manifest), "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gifviz: error:"), captured.err
    assert "IndexError" not in captured.err and "Traceback" not in captured.err
    assert 'task = "digit" and relation = "independent"' in lines[0] and "child" in lines[0]


def test_ipp_without_a_source_names_the_annotations(tmp_path):
    message = problem(annotated_zoo(tmp_path / "zoo", {"a": {}, "b": {}}), "ipp")
    assert 'relation = "source"' in message and "parent" in message and 'relation = "independent"' in message


def test_ipp_with_a_source_but_no_derived_model_names_the_parent_key(tmp_path):
    models = {"src": {"relation": "source"}, "orphan": {"relation": "prune", "parent": "elsewhere"}}
    message = problem(annotated_zoo(tmp_path / "zoo", models), "ipp")
    assert 'parent = "<source id>"' in message and "orphan" in message


def test_ipp_transfer_models_need_transfer_independent_ones(tmp_path):
    models = {"src": {"relation": "source"}, "moved": {"relation": "transfer", "parent": "src", "task": "parity"},
              "indep": {"relation": "independent"}}  # fmt: skip
    message = problem(annotated_zoo(tmp_path / "zoo", models), "ipp")
    assert 'relation = "transfer-independent"' in message and 'relation = "independent"' not in message


def test_ipp_independent_model_of_another_task_is_named(tmp_path):
    models = {**SOURCE_AND_CHILD, "indep": {"relation": "independent", "task": "parity"}}
    message = problem(annotated_zoo(tmp_path / "zoo", models), "ipp")
    assert "indep" in message and "another task" in message


def test_tasks_testbed_names_the_matrix_and_the_task_models(tmp_path):
    message = problem(annotated_zoo(tmp_path / "zoo", SOURCE_AND_CHILD), "tasks")
    assert "[data] transferability" in message and 'relation = "task"' in message and "found 0" in message


def write_matrix(path: Path, names: list[str], cells: str | None = None) -> None:
    rows = [",".join(["task", *names])]
    rows += [",".join([a, *(cells or ("1.0" if a == b else "0.5") for b in names)]) for a in names]
    path.write_text("\n".join(rows) + "\n")


def test_tasks_testbed_needs_three_task_models_that_the_matrix_names(tmp_path):
    models = {"d": {"relation": "task", "task": "digit"}, "p": {"relation": "task", "task": "parity"},
              "c": {"relation": "task", "task": "colour"}}  # fmt: skip
    manifest = annotated_zoo(tmp_path / "zoo", models, data='transferability = "t.csv"')
    write_matrix(manifest.parent / "t.csv", ["digit", "parity"])  # no column for colour: no KeyError
    message = problem(manifest, "tasks")
    assert "at least 3 task models" in message and "found 2" in message
    write_matrix(manifest.parent / "t.csv", ["digit", "parity", "colour"])
    assert models_for(Zoo.open(manifest), "tasks") == ("d", "p", "c")


def test_tasks_testbed_rejects_a_matrix_with_a_non_number(tmp_path):
    models = {name: {"relation": "task", "task": name} for name in ("a", "b", "c")}
    manifest = annotated_zoo(tmp_path / "zoo", models, data='transferability = "t.csv"')
    write_matrix(manifest.parent / "t.csv", ["a", "b", "c"], cells="high")
    assert "must hold a number in every cell" in problem(manifest, "tasks")


def test_tasks_testbed_rejects_two_models_for_one_task(tmp_path):
    models = {name: {"relation": "task", "task": name} for name in ("a", "b", "c")}
    models["a2"] = {"relation": "task", "task": "a"}
    manifest = annotated_zoo(tmp_path / "zoo", models, data='transferability = "t.csv"')
    write_matrix(manifest.parent / "t.csv", ["a", "b", "c"])
    assert "task 'a' has 2 task models (a, a2)" in problem(manifest, "tasks")


def test_unlearning_testbed_names_each_missing_role(tmp_path):
    models = {"orig": {"relation": "reference", "family": "unlearning"},
              "cand": {"relation": "unlearned", "family": "unlearning"}}  # fmt: skip
    message = problem(annotated_zoo(tmp_path / "zoo", models), "unlearning")
    assert 'relation = "retrained"' in message and 'relation = "reference"' not in message


def test_unlearning_testbed_points_at_models_without_the_family(tmp_path):
    models = {"orig": {"relation": "reference"}, "cand": {"relation": "unlearned"}, "re": {"relation": "retrained"}}
    message = problem(annotated_zoo(tmp_path / "zoo", models), "unlearning")
    assert 'family = "unlearning"' in message and "orig, cand, re" in message


def test_unsupported_testbeds_lists_what_each_testbed_lacks(tmp_path):
    models = {**SOURCE_AND_CHILD, "indep": {"relation": "independent"}}
    reasons = unsupported_testbeds(Zoo.open(annotated_zoo(tmp_path / "zoo", models)))
    assert set(reasons) == {"tasks", "unlearning"} and all(reasons.values())


def test_bench_config_rejects_reference_counts_below_two():
    with pytest.raises(ConfigError, match="at least 2"):
        BenchConfig(n_refs=1)
    with pytest.raises(ConfigError, match="at least 2"):
        BenchConfig(sweep=(0, 8))


@pytest.fixture(scope="module")
def lineage_zoo(tmp_path_factory) -> Zoo:
    root = tmp_path_factory.mktemp("lineage")
    models = {**SOURCE_AND_CHILD, "indep": {"relation": "independent"}}
    return Zoo.open(annotated_zoo(root / "zoo", models, refs=6))


def test_ipp_on_a_user_zoo_reports_the_n_it_used_and_a_sweep_it_has(lineage_zoo):
    config = BenchConfig(field=FieldConfig(steps=2), methods=("modelgif", "softmax"), n_refs=128, resamples=5)
    result = run_ipp(bench_inputs(lineage_zoo, config), config)
    assert (result.requested, result.available, result.n_used) == (128, 6, 6)
    line = headline(result)
    assert "N=6" in line and "128 asked" in line and "N=128" not in line
    text = sweep_text(result)  # the zoo has no extract-prob attack: the sweep falls back to the metric it has
    assert text.startswith("ipp: finetune against the number of references") and "Empty DataFrame" not in text
    assert "capped" in text
    assert sweep_text(result, "extract-prob").startswith("ipp: no sweep:")


def test_cli_prints_the_n_it_used_and_says_when_there_is_no_sweep(lineage_zoo, capsys):
    manifest = str(lineage_zoo.manifest.path)
    assert main(["bench", "ipp", manifest, "--quiet", "--steps", "2", "--resamples", "0"]) == 0
    printed = capsys.readouterr().out
    assert "main table at N=6 (128 asked)" in printed and "at N=128" not in printed
    assert main(["bench", "ipp", manifest, "--quiet", "--steps", "2", "--methods", "sac-w", "--resamples", "0"]) == 0
    printed = capsys.readouterr().out
    assert "no sweep: no method could run" in printed and "Empty DataFrame" not in printed


def test_headline_and_sweep_when_no_method_could_run(lineage_zoo):
    config = BenchConfig(field=FieldConfig(steps=2), methods=("sac-w",), n_refs=8, resamples=0)  # no labels
    result = run_ipp(bench_inputs(lineage_zoo, config), config)
    assert result.n_used == 0 and "no method could run" in headline(result)
    assert sweep_text(result).startswith("ipp: no sweep: no method could run")


def test_disagreement_and_softmax_share_one_forward_pass(lineage_zoo, tmp_path):
    ids = list(lineage_zoo.ids)
    refs = bench_inputs(lineage_zoo, BenchConfig(n_refs=6, sweep=())).references
    inputs = MethodInputs(refs, None, lineage_zoo.space.value_range, 0)
    shared: dict = {}
    first = method_run(METHODS["disagreement"], lineage_zoo, ids, inputs, shared=shared)
    second = method_run(METHODS["softmax"], lineage_zoo, ids, inputs, shared=shared)
    assert len(shared) == 1 and second.seconds == first.seconds
    alone = method_run(METHODS["softmax"], lineage_zoo, ids, inputs)
    rows = np.arange(4)
    assert second.distance("src", "indep", rows) == pytest.approx(alone.distance("src", "indep", rows))


def test_auc_equals_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for _ in range(50):
        labels = np.r_[0, 1, rng.integers(0, 2, 10)]
        values = rng.integers(0, 4, labels.size).astype(float)  # few distinct values: many ties
        assert ipp.auc(labels, values) == pytest.approx(roc_auc_score(labels, values))


def test_unlearning_without_unrelated_models_scores_without_warnings(tmp_path):
    models = {"orig": {"relation": "reference", "family": "unlearning"},
              "cand": {"relation": "unlearned", "family": "unlearning"},
              "re": {"relation": "retrained", "family": "unlearning"}}  # fmt: skip
    bench = unlearning.unlearning_set(Zoo.open(annotated_zoo(tmp_path / "zoo", models)))
    run = MethodRun("table", "Table", "black-box", 4, 4, 0.0, lambda a, b, rows: 0.1 if "cand" in (a, b) else 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = unlearning.unlearning_scores(run, bench)
    assert scores["unlearned caught"] == 1.0 and np.isnan(scores["mean unrelated"]) and np.isnan(scores["order holds"])


def test_default_methods_are_the_quick_ones_and_expensive_ones_are_estimated_first(lineage_zoo, tmp_path):
    from gifviz.bench.costs import QUICK_METHODS, cost_caption, expensive, method_costs
    from gifviz.jobs import store_fields
    from gifviz.store import FieldStore

    assert "zest" not in QUICK_METHODS and "modelgif" in QUICK_METHODS
    store, config = FieldStore(tmp_path / "store"), FieldConfig(steps=2)
    refs = bench_inputs(lineage_zoo, BenchConfig(n_refs=6, sweep=())).references
    ids = models_for(lineage_zoo, "ipp")
    cold = {c.method: c for c in method_costs(ids, ("modelgif", "zest"), refs, config, store)}
    assert cold["modelgif"].note == "fields in the store for 0 of 3 models" and cold["zest"].evaluations == 6 * 64
    store_fields(lineage_zoo, refs, config, ["src", "indep"], store)
    warm = {c.method: c for c in method_costs(ids, ("modelgif", "zest"), refs, config, store)}
    assert warm["modelgif"].note == "fields in the store for 2 of 3 models"
    assert warm["modelgif"].seconds < cold["modelgif"].seconds < warm["zest"].seconds
    assert "ZEST (LIME) about" in cost_caption(list(warm.values()))
    assert expensive(list(warm.values())) == ""  # three models: within a minute
    assert "ZEST (LIME)" in expensive(list(warm.values()), budget=0.001)


def test_benchmarks_page_says_what_the_zoo_lacks_before_running(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    manifest = annotated_zoo(tmp_path / "zoo", SOURCE_AND_CHILD)
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    monkeypatch.setenv("GIFVIZ_HOME", str(tmp_path))  # the store, and an allowed root that holds the manifest
    app.query_params.update({"manifest": str(manifest)})
    app.run()
    app.switch_page("pages/benchmarks.py").run()
    assert not app.exception, app.exception
    assert 'relation = "independent"' in app.error[0].value  # before anything runs
    assert app.multiselect[0].value == ["modelgif", "disagreement", "softmax", "sac-m"]
    next(b for b in app.button if b.label == "Run testbed").click().run()
    assert not app.exception and len(app.error) == 1 and not app.dataframe


def test_stress_audit_table_gives_mean_and_worst_per_category(tmp_path):
    from gifviz.app.benchmarks import stress_audit_table
    from gifviz.audit.names import (
        CROSS_TASK_NULL_COLUMN,
        DEFAULT_FUSION,
        FITTED_WEIGHTS_FUSION,
        NO_CROSS_TASK,
        NO_FIRST_LAYER,
        NO_SOURCE_CROPS,
        NULL_CENTRE_COLUMN,
        ONE_METHOD_COLUMN,
        PREVIOUS_FUSION,
        RATE_SPREAD_COLUMN,
        STOUFFER,
    )

    rows = ["zoo,manifest,category,column,auc"]
    rows += [f"z{k},m,finetune,combined (leave-one-zoo-out),{auc}" for k, auc in enumerate((1.0, 0.8))]
    rows += ["z0,m,transfer,disagreement,", "z1,m,transfer,disagreement,"]
    rows += [f"z{k},m,extract-label [natural],off-task,{auc}" for k, auc in enumerate((0.9, 0.7))]
    rows += [f"z{k},m,finetune,{NO_CROSS_TASK},{auc}" for k, auc in enumerate((0.6, 0.5))]
    rows += [f"z{k},m,finetune,fusion:{DEFAULT_FUSION},{auc}" for k, auc in enumerate((1.0, 0.9))]
    rows += [f'z{k},m,finetune,"{ONE_METHOD_COLUMN}",{auc}' for k, auc in enumerate((0.7, 0.6))]
    rows += [f'z{k},m,finetune,"{RATE_SPREAD_COLUMN}",{auc}' for k, auc in enumerate((0.8, 0.7))]
    rows += [f'z{k},m,finetune,"{NULL_CENTRE_COLUMN}",{auc}' for k, auc in enumerate((0.9, 0.6))]
    rows += [f"z{k},m,finetune,fusion:{PREVIOUS_FUSION},{auc}" for k, auc in enumerate((0.6, 0.4))]
    rows += [f'z{k},m,finetune,"{CROSS_TASK_NULL_COLUMN}",{auc}' for k, auc in enumerate((0.5, 0.3))]
    rows += [f"z{k},m,finetune,{NO_FIRST_LAYER},{auc}" for k, auc in enumerate((0.8, 0.2))]
    rows += [f"z{k},m,finetune,fusion:{STOUFFER},{auc}" for k, auc in enumerate((0.7, 0.1))]
    rows += [f"z{k},m,finetune,{NO_SOURCE_CROPS},{auc}" for k, auc in enumerate((0.9, 0.5))]
    rows += [f"z{k},m,finetune,fusion:{FITTED_WEIGHTS_FUSION},{auc}" for k, auc in enumerate((0.6, 0.6))]
    (tmp_path / "selection.csv").write_text("\n".join(rows) + "\n")
    table = stress_audit_table(tmp_path / "selection.csv")
    assert table.loc["combined (leave-one-zoo-out)", "finetune"] == "0.90 / 0.80"
    # the audit as shipped is named so, and comes first
    assert table.index[0] == f"combined (default: {DEFAULT_FUSION})" and table.iloc[0]["finetune"] == "0.95 / 0.90"
    # then the audits before the latest rounds, newest first, and the same without the cross-task rule
    assert list(table.index[1:11]) == [
        f"round twenty-three's method undone ({DEFAULT_FUSION} without source-crops)",
        f"round twenty-three's fusion undone (fusion {FITTED_WEIGHTS_FUSION})",
        f"the fusion before round eighteen (fusion {STOUFFER})",
        "round seventeen's cross-task null undone (cross-task null 'other-kinds')",
        "round sixteen's method undone (without first-layer)",
        f"the fusion before round eleven (fusion {PREVIOUS_FUSION})",
        "round ten's centre undone (null centre 'mean')",
        "rates' spread as before round nine (rate spread 'value')",
        "one fused method read as fused (as before round eight)",
        NO_CROSS_TASK,
    ]
    assert table.iloc[1]["finetune"] == "0.70 / 0.50" and table.iloc[2]["finetune"] == "0.60 / 0.60"
    assert table.iloc[3]["finetune"] == "0.40 / 0.10"
    assert table.iloc[4]["finetune"] == "0.40 / 0.30" and table.iloc[5]["finetune"] == "0.50 / 0.20"
    assert table.iloc[6]["finetune"] == "0.50 / 0.40"
    assert table.iloc[7]["finetune"] == "0.75 / 0.60" and table.iloc[8]["finetune"] == "0.75 / 0.70"
    assert table.iloc[10]["finetune"] == "0.55 / 0.50"
    assert f"fusion:{DEFAULT_FUSION}" not in table.index
    # the split by what thieves queried comes after the categories themselves
    assert list(table.columns) == ["finetune", "transfer", "extract-label [natural]"]
    assert table.loc["off-task", "extract-label [natural]"] == "0.80 / 0.70"
    assert table.loc["disagreement", "transfer"] == "n/a" and "2 stress zoos" in table.index.name
    assert stress_audit_table(tmp_path / "missing.csv") is None


def test_the_stress_table_cites_the_command_that_wrote_it(tmp_path):
    from gifviz.app.benchmarks import STRESS_RESULTS, stress_audit_command

    (tmp_path / "selection.json").write_text('{"command": "python benchmarks/audit_selection.py z.toml"}')
    assert stress_audit_command(tmp_path / "selection.csv") == "python benchmarks/audit_selection.py z.toml"
    assert stress_audit_command(tmp_path / "elsewhere" / "selection.csv") is None
    assert "audit_selection.py" in stress_audit_command(STRESS_RESULTS)  # the results shipped with the checkout
    assert stress_audit_command([tmp_path / "selection.csv", tmp_path / "elsewhere" / "selection.csv"]) == (
        "python benchmarks/audit_selection.py z.toml"
    )


def test_the_stress_table_pools_report_sets_and_skips_a_missing_one(tmp_path):
    from gifviz.app.benchmarks import stress_audit_table

    for name, aucs in (("a", (1.0, 0.9)), ("b", (0.7, 0.8))):
        (tmp_path / name).mkdir()
        rows = ["zoo,manifest,category,column,auc"]
        rows += [f"{name}{k},m,finetune,modelgif,{auc}" for k, auc in enumerate(aucs)]
        rows += [f"{name}{k},m,finetune,fusion:later,0.5" for k in range(2) if name == "b"]  # recorded by b only
        (tmp_path / name / "selection.csv").write_text("\n".join(rows) + "\n")
    paths = [tmp_path / "a" / "selection.csv", tmp_path / "b" / "selection.csv", tmp_path / "c" / "selection.csv"]
    table = stress_audit_table(paths)
    assert table.loc["modelgif", "finetune"] == "0.85 / 0.70" and "4 stress zoos" in table.index.name
    assert table.loc["fusion:later (on 2 of the 4 zoos)", "finetune"] == "0.50 / 0.50"
    assert stress_audit_table(paths[2:]) is None


def test_the_unlearning_table_counts_right_verdicts_per_group_and_rule(tmp_path):
    from gifviz.app.benchmarks import UNLEARNING_RESULTS, unlearning_stress_table

    rows = ["zoo,method,rule,candidate,group,right"]
    for zoo, retrained_right in (("z1", (True, True)), ("z2", (True, False))):
        rows += [f"{zoo},modelgif,closest,u{k},unlearned,True" for k in range(2)]
        rows += [f"{zoo},modelgif,closest,r{k},retrained,{right}" for k, right in enumerate(retrained_right)]
        rows += [f"{zoo},modelgif,closest,x,unrelated,True"]
    (tmp_path / "verdicts.csv").write_text("\n".join(rows) + "\n")
    table = unlearning_stress_table(tmp_path / "verdicts.csv")
    row = table.loc["modelgif, closest"]
    assert row["unlearned"] == "4 of 4 (worst zoo 1.00)" and row["retrained"] == "3 of 4 (worst zoo 0.50)"
    assert row["balanced accuracy"] == "0.88 / 0.75" and "2 unlearning zoos" in table.index.name
    assert unlearning_stress_table(tmp_path / "missing.csv") is None
    # several report sets read together, a missing one skipped
    assert (
        "2 unlearning zoos" in unlearning_stress_table([tmp_path / "verdicts.csv", tmp_path / "missing.csv"]).index.name
    )
    assert all(path.name == "verdicts.csv" for path in UNLEARNING_RESULTS)
