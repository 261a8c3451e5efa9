"""``benchmarks/audit_selection.py``: its fusion criterion (the mean over categories of each one's worst case) and its
count of the audit's verdicts per model."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import load_benchmark

from gifviz.bench.ipp import IppCase


@pytest.fixture(scope="module")
def selection():
    return load_benchmark("audit_selection")


def _table(cells: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """``column -> category -> AUC per zoo`` as the script's long table."""
    return pd.DataFrame(
        [
            {"zoo": f"z{i}", "manifest": f"z{i}.toml", "category": category, "column": column, "auc": auc}
            for column, categories in cells.items()
            for category, aucs in categories.items()
            for i, auc in enumerate(aucs)
        ]
    )


def test_the_criterion_counts_every_category_not_only_the_worst_cell(selection):
    table = _table(
        {
            # the same unsolved category for both; "best" loses transfer on one zoo, "positive-sum" does not
            "fusion:best": {"extract-label": [0.70, 0.66], "transfer": [1.00, 0.81], "finetune": [1.0, 1.0]},
            "fusion:positive-sum": {"extract-label": [0.70, 0.65], "transfer": [1.00, 0.95], "finetune": [1.0, 1.0]},
            # a breakdown group never takes part in the choice
            "fusion:rank": {
                "extract-label": [0.95, 0.95],
                "transfer": [0.95, 0.95],
                "finetune": [0.95, 0.95],
                "extract-label [natural]": [0.0, 0.0],
            },
            "fusion:fisher": {"extract-label": [0.9, 0.9], "transfer": [0.9, 0.9]},
        }
    )
    assert selection.worst_case(table, "fusion:best") > selection.worst_case(table, "fusion:positive-sum")
    assert selection.mean_worst_case(table, "fusion:positive-sum") == pytest.approx((0.65 + 0.95 + 1.0) / 3)
    assert selection.mean_worst_case(table, "fusion:rank") == pytest.approx(0.95)
    # fisher has no AUC for fine-tuning: that category counts 0, not left out of its mean
    assert selection.mean_worst_case(table, "fusion:fisher") == pytest.approx((0.9 + 0.9 + 0.0) / 3)
    # a candidate that cannot score a zoo counts 0 there; one the table does not hold at all scores 0
    table = pd.concat([table, _table({"fusion:stouffer": {"transfer": [float("nan"), 1.0]}})])
    assert selection.mean_worst_case(table, "fusion:stouffer") == 0.0
    assert selection.mean_worst_case(table, "fusion:no-such-fusion") == 0.0
    assert selection.pick(table) == "rank"
    assert selection.pick(table[table["column"] != "fusion:rank"]) == "positive-sum"


def test_the_thieves_verdicts_split_by_what_they_queried_count_only_that_fusions_thieves(selection):
    def row(group: str, queried: str, architecture: str, verdict: str, fusion: str = "positive-sum") -> dict:
        return {"fusion": fusion, "group": group, "queried": queried, "architecture": architecture, "verdict": verdict}

    verdicts = [
        row("extract-label", "natural", "mlp", "independent"),
        row("extract-label", "natural", "cnn", "derived"),
        row("extract-label", "digits:attacker", "mlp", "independent"),
        row("extract-prob", "digits:attacker", "mlp", "inconclusive"),
        row("extract-label", "natural", "cnn", "independent", fusion="best"),  # another fusion's
        row("innocent, same task", "", "mlp", "derived"),  # not a thief
        row("finetune", "", "cnn", "derived"),  # not an extraction
    ]
    by_query = selection.thief_verdict_table(verdicts, "positive-sum", "queried")
    assert by_query.loc[("extract-label", "natural")].to_dict() == {
        "derived": 1,
        "independent": 1,
        "inconclusive": 0,
        "n/a": 0,
    }
    assert by_query.loc[("extract-label", "digits:attacker"), "independent"] == 1
    assert by_query.to_numpy().sum() == 4
    by_architecture = selection.thief_verdict_table(verdicts, "positive-sum", "architecture")
    assert by_architecture.loc[("extract-label", "mlp"), "independent"] == 2
    assert by_architecture.loc[("extract-prob", "mlp"), "inconclusive"] == 1


def test_each_models_verdict_names_its_architecture_and_only_a_thief_what_it_queried(selection):
    def spec(model_id: str, arch: str | None, data: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(id=model_id, arch=arch, extra={"recipe": {"data": data}} if data else {})

    specs = [
        spec("thief", "mlp", "natural"),
        spec("child", "cnn", "digits:train"),
        spec("ind", None, "digits:train"),  # no architecture recorded
        spec("other-task", "cnn", "digits:train"),
    ]
    zoo = SimpleNamespace(name="z", spec={s.id: s for s in specs}.__getitem__)
    verdict = {"thief": "derived", "child": "derived", "ind": "independent", "other-task": "inconclusive"}
    result = SimpleNamespace(
        fusion="positive-sum",
        roles=SimpleNamespace(source="src"),
        row=lambda model_id: SimpleNamespace(verdict=verdict[model_id]),
    )
    cases = [
        IppCase("src", "extract-label", ("thief",), ("ind",)),
        IppCase("src", "transfer", ("child",), ("other-task",)),
    ]
    rows = {(r["model"], r["group"]): r for r in selection.source_verdicts(zoo, result, cases)}
    assert set(rows) == {
        ("thief", "extract-label"),
        ("child", "transfer"),
        ("ind", "innocent, same task"),
        ("other-task", "innocent, other task"),
    }
    assert rows[("thief", "extract-label")]["queried"] == "natural"
    assert rows[("thief", "extract-label")]["architecture"] == "mlp"
    # only an extraction thief says what it queried; an innocent model's training data is not a query
    assert rows[("child", "transfer")]["queried"] == rows[("ind", "innocent, same task")]["queried"] == ""
    assert rows[("ind", "innocent, same task")]["architecture"] == "unrecorded"
    assert {r["verdict"] for r in rows.values()} == set(verdict.values())
    assert all(r["source"] == "src" and r["zoo"] == "z" for r in rows.values())


def test_each_models_readings_name_its_group_and_the_categories_it_is_a_negative_of(selection):
    specs = {
        "thief": SimpleNamespace(id="thief", arch="mlp", extra={"recipe": {"data": "natural"}}),
        "ind": SimpleNamespace(id="ind", arch="cnn", extra={}),
        "other-task": SimpleNamespace(id="other-task", arch=None, extra={}),
    }
    zoo = SimpleNamespace(name="z", spec=specs.__getitem__)
    tails = {("thief", "modelgif"): 0.01, ("thief", "combined"): 0.02, ("ind", "modelgif"): 0.4}

    def row(model_id: str, method: str) -> SimpleNamespace:
        p_tail = tails.get((model_id, method), 0.5)
        return SimpleNamespace(score=1.0 - p_tail, p_tail=p_tail, p_value=0.5, verdict="independent", usable=True)

    reads = {"thief": ("modelgif",), "ind": ("modelgif",), "other-task": ()}  # as combined_methods answers
    result = SimpleNamespace(roles=SimpleNamespace(source="src"), row=row, combined_methods=reads.__getitem__)
    cases = [
        IppCase("src", "extract-label", ("thief",), ("ind",)),
        IppCase("src", "extract-prob", (), ("ind",)),
        IppCase("src", "transfer", (), ("other-task",)),
    ]
    rows = selection.source_readings(zoo, result, cases, ("modelgif",))
    by = {(r["model"], r["method"]): r for r in rows}
    assert set(by) == {(m, method) for m in specs for method in ("modelgif", "combined")}
    assert by[("thief", "modelgif")]["group"] == "extract-label" and by[("thief", "modelgif")]["p_tail"] == 0.01
    assert by[("thief", "combined")]["p_tail"] == 0.02 and by[("thief", "modelgif")]["queried"] == "natural"
    # an innocent model of the source's task is a negative of every category it was scored in, in the cases' order
    assert by[("ind", "modelgif")]["group"] == "innocent-same"
    assert by[("ind", "modelgif")]["neg_of"] == "extract-label;extract-prob"
    assert by[("other-task", "modelgif")]["group"] == "innocent-other"
    assert by[("other-task", "modelgif")]["architecture"] == "unrecorded"
    assert all(r["source"] == "src" and r["zoo"] == "z" for r in rows)
    assert by[("thief", "modelgif")]["fused"] and not by[("other-task", "modelgif")]["fused"]
    assert not by[("thief", "combined")]["fused"]


def test_each_models_fused_null_members_are_written_once_per_method(selection):
    zoo = SimpleNamespace(name="z")
    members = {
        "thief": {"ind": {"modelgif": SimpleNamespace(p_tail=0.3), "cka": SimpleNamespace(p_tail=0.6)}},
        "ind": {},  # read by one method as its own: no fused null
    }
    result = SimpleNamespace(roles=SimpleNamespace(source="src"), fused_null=members.__getitem__)
    cases = [IppCase("src", "extract-label", ("thief",), ("ind",)), IppCase("src", "extract-prob", (), ("ind",))]
    rows = selection.source_fused_null(zoo, result, cases)
    assert rows == [
        {"zoo": "z", "source": "src", "model": "thief", "member": "ind", "method": "modelgif", "p_tail": 0.3},
        {"zoo": "z", "source": "src", "model": "thief", "member": "ind", "method": "cka", "p_tail": 0.6},
    ]


def test_the_row_without_the_cross_task_rule_fuses_every_method_for_a_model_of_another_task(selection, tmp_path):
    from lineage_zoo import lineage_zoo

    from gifviz.audit.fusion import FUSIONS
    from gifviz.audit.names import DEFAULT_FUSION
    from gifviz.audit.run_audit import audit
    from gifviz.hub.zoo import Zoo
    from gifviz.refs import load_reference_folder
    from tests.test_audit import FIELD

    manifest, refs = lineage_zoo(tmp_path)
    zoo = Zoo.open(manifest)
    shipped = audit(
        zoo, "source", ["transfer"], None, ("modelgif", "modeldiff"), load_reference_folder(refs, zoo.space, 8), FIELD
    )
    assert "combined reads modelgif only" in shipped.row("transfer").note
    plain = selection.without_cross_task(shipped)
    row = plain.row("transfer")
    assert "combined reads" not in row.note
    both = {m: plain.row("transfer", m) for m in ("modelgif", "modeldiff")}
    assert row.distance == pytest.approx(FUSIONS[DEFAULT_FUSION](both))
    assert f"{DEFAULT_FUSION} of modelgif, modeldiff" in row.note  # both fused, not only their sum agreeing
    assert "combined reads modelgif only" in shipped.row("transfer").note  # the shipped result is left as it was


def test_the_row_without_a_method_reads_the_audit_as_if_it_had_not_been_run(selection, tmp_path):
    from lineage_zoo import lineage_zoo

    from gifviz.audit.names import NO_FIRST_LAYER
    from gifviz.audit.run_audit import audit
    from gifviz.errors import GifvizError
    from gifviz.hub.zoo import Zoo
    from gifviz.refs import load_reference_folder
    from tests.test_audit import FIELD

    manifest, refs = lineage_zoo(tmp_path)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space, 8)
    both = audit(zoo, "source", ["transfer", "ft1"], None, ("modelgif", "first-layer"), references, FIELD)
    alone = audit(zoo, "source", ["transfer", "ft1"], None, ("modelgif",), references, FIELD)
    without = selection.without_method(both, "first-layer")
    assert without.methods == ("modelgif",)
    assert selection.without_column("first-layer") == NO_FIRST_LAYER  # the label the app's Benchmarks page names
    assert [(r.suspect, r.method) for r in without.rows] == [(r.suspect, r.method) for r in alone.rows]
    for got, expected in zip(without.rows, alone.rows, strict=True):
        assert got.calibration.score == pytest.approx(expected.calibration.score, nan_ok=True)
        assert got.calibration.verdict == expected.calibration.verdict
    assert "first-layer" in both.row("transfer").note and "first-layer" not in without.row("transfer").note
    with pytest.raises(GifvizError, match="did not run cka"):
        selection.without_method(both, "cka")
    with pytest.raises(GifvizError, match="this audit did not run cka"):
        both.with_methods(["modelgif", "cka"])
    assert without.provenance["config"]["methods"] == ["modelgif"]


def test_without_names_a_method_the_run_does_not_have_and_stops(selection, capsys):
    with pytest.raises(SystemExit) as stopped:
        selection.main(["a.toml", "b.toml", "--methods", "modelgif", "--without", "first-layer"])
    assert stopped.value.code == 2
    assert "--without first-layer: not among --methods" in capsys.readouterr().err
