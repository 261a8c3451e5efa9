"""The Audit page: an IP audit and an unlearning check picked from the working zoo, shown and downloadable."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ONE_KIN_ZOO_MODELS, make_cnn, perturbed, write_one_kin_zoo, write_pngs, write_zoo
from streamlit.testing.v1 import AppTest
from test_app import download_data, downloads  # noqa: F401 (downloads: a fixture)

from gifviz.audit import audit
from gifviz.audit.names import DEFAULT_CALIBRATION, VERDICT_MEANING, twin_methods_warning
from gifviz.audit.settings import ReadingSettings
from gifviz.figures.audit import audit_spread_figure
from gifviz.hub import Zoo
from gifviz.refs import load_reference_folder

APP = str(Path(__file__).resolve().parents[1] / "app.py")
RELATIONS = {"src": {"relation": "source"}, "child": {"relation": "finetune", "parent": "src"}}


@pytest.fixture
def manifest(isolated_cache):
    """A source, its fine-tuned child and four independents, under GIFVIZ_HOME (the app opens only allowed roots)."""
    models = {"src": make_cnn(0), "child": perturbed(make_cnn(0), 0.02, 1)}
    models |= {f"indep{k}": make_cnn(10 + k) for k in range(4)}
    fields = {model_id: RELATIONS.get(model_id, {"relation": "independent"}) for model_id in models}
    path = write_zoo(isolated_cache / "zoo", models, references="refs", fields=fields)
    write_pngs(path.parent / "refs", 8)
    return path


def open_audit(manifest: Path) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params.update(
        {"manifest": str(manifest), "n_refs": "8", "models": "src,child,indep0,indep1,indep2,indep3"}
    )
    app.run()
    app.switch_page("pages/audit.py").run()
    assert not app.exception, app.exception
    return app


def test_the_audit_page_defaults_roles_from_the_manifest_and_downloads_what_the_library_gives(manifest, downloads):  # noqa: F811
    app = open_audit(manifest)
    assert app.selectbox[0].value == "src"
    assert app.multiselect[0].value == ["indep0", "indep1", "indep2", "indep3"] and app.multiselect[1].value == [
        "child"
    ]
    app.multiselect[2].set_value(["modelgif", "softmax"]).run()
    next(b for b in app.button if b.label == "Run audit").click().run()
    assert not app.exception, app.exception
    shown = app.dataframe[0].value
    assert list(shown["suspect"]) == ["child"] and shown["modelgif"].iloc[0] == "derived"
    assert any(caption.value == VERDICT_MEANING for caption in app.caption)  # what each verdict claims
    zoo = Zoo.open(manifest)
    refs = load_reference_folder(zoo.manifest.references, zoo.space, 8)
    result = audit(zoo, "src", ["child"], None, ["modelgif", "softmax"], refs, zoo_config(app))
    expected = result.frame()
    # the audit's own false-positive check: its summary, and every independent's rows in the second table
    check = result.self_check()
    shown_as = app.warning if check.called() else app.caption  # a warning when an independent reads derived
    assert any(element.value == check.summary() for element in shown_as)
    checked = next(frame.value for frame in app.dataframe if "independent" in frame.value.columns)
    assert sorted(set(checked["independent"])) == ["indep0", "indep1", "indep2", "indep3"]
    downloaded = pd.read_csv(io.StringIO(download_data(app, "download_audit", downloads)))
    pd.testing.assert_frame_equal(downloaded, pd.read_csv(io.StringIO(expected.to_csv(index=False))))


def test_the_audit_page_reads_raw_distances_when_asked(manifest, downloads):  # noqa: F811
    app = open_audit(manifest)
    app.multiselect[2].set_value(["modelgif", "softmax"]).run()
    picker = next(s for s in app.selectbox if s.label == "Distances read")
    assert picker.value == DEFAULT_CALIBRATION
    picker.set_value("absolute").run()
    next(b for b in app.button if b.label == "Run audit").click().run()
    assert not app.exception, app.exception
    zoo = Zoo.open(manifest)
    refs = load_reference_folder(zoo.manifest.references, zoo.space, 8)
    expected = audit(
        zoo,
        "src",
        ["child"],
        None,
        ["modelgif", "softmax"],
        refs,
        zoo_config(app),
        settings=ReadingSettings(calibration="absolute"),
    ).frame()
    downloaded = pd.read_csv(io.StringIO(download_data(app, "download_audit", downloads)))
    pd.testing.assert_frame_equal(downloaded, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
    assert "distance from the source" in app.get("plotly_chart")[0].proto.spec


def zoo_config(app: AppTest):
    from gifviz.app.settings import AppSettings

    return AppSettings().field_config()  # the page audits with the app's field settings (the URL sets only N)


def test_the_unlearning_check_without_retrained_models_is_inconclusive_and_says_why(manifest):
    app = open_audit(manifest)
    app.selectbox(key="unlearning_original").set_value("src").run()
    app.multiselect(key="unlearning_candidates").set_value(["child"]).run()
    next(b for b in app.button if b.label == "Check unlearning").click().run()
    assert not app.exception, app.exception
    table = app.dataframe[-1].value
    assert list(table["candidate"]) == ["child"] and table["verdict"].iloc[0] == "inconclusive"


def test_the_unlearning_check_reads_its_verdicts_by_the_rule_picked(manifest):
    app = open_audit(manifest)
    app.selectbox(key="unlearning_original").set_value("src").run()
    app.multiselect(key="unlearning_candidates").set_value(["child"]).run()
    app.multiselect(key="unlearning_retrained").set_value(["indep0", "indep1", "indep2"]).run()
    app.radio(key="unlearning_rule").set_value("prediction").run()
    next(b for b in app.button if b.label == "Check unlearning").click().run()
    assert not app.exception, app.exception
    table = app.dataframe[-1].value
    # the fine-tuned child is still the source: a hair away against independently trained references
    assert table["verdict"].iloc[0] == "close to the original"
    # the prediction bound lies below the closest retrained reference's distance (the caption lists them)
    retrained = [float(d) for d in re.findall(r"indep\d (\d+\.\d+)", app.caption[-1].value)]
    assert len(retrained) == 3 and 0 < table["threshold"].iloc[0] < min(retrained)
    assert "lower prediction bound" in app.caption[-1].value


def test_too_few_independents_is_one_message(manifest):
    app = open_audit(manifest)
    app.multiselect[0].set_value(["indep0"]).run()
    next(b for b in app.button if b.label == "Run audit").click().run()
    assert not app.exception and "at least 2 independent" in app.error[0].value


def test_the_spread_figure_puts_each_model_on_its_methods_row():
    distances = {"modelgif": {"a": 0.1, "i1": 0.5, "i2": 0.6}, "softmax": {"a": float("nan"), "i1": 0.2, "i2": 0.3}}
    figure = audit_spread_figure(distances, {"a": {"modelgif": "derived", "softmax": "n/a"}}, ["i1", "i2"])
    traces = {trace.name: trace for trace in figure.data if trace.name != "independents"}
    assert list(traces) == ["derived"] and list(traces["derived"].x) == [0.1]  # a NaN distance is not drawn
    independents = [trace for trace in figure.data if trace.name == "independents"]
    assert [list(t.x) for t in independents] == [[0.5, 0.6], [0.2, 0.3]]


def test_the_audit_page_warns_when_both_off_task_twins_are_named(manifest):
    app = open_audit(manifest)
    app.multiselect[2].set_value(["modelgif", "off-task"]).run()
    assert not any("fuses that evidence twice" in w.value for w in app.warning)
    app.multiselect[2].set_value(["modelgif", "off-task", "off-task-kappa"]).run()
    assert any(w.value == twin_methods_warning(["off-task", "off-task-kappa"]) for w in app.warning)


def test_the_audit_page_warns_when_one_independent_has_the_sources_architecture(isolated_cache):
    path = write_one_kin_zoo(isolated_cache / "zoo")
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params.update({"manifest": str(path), "n_refs": "8", "models": ",".join(ONE_KIN_ZOO_MODELS)})
    app.run()
    app.switch_page("pages/audit.py").run()
    app.multiselect[2].set_value(["disagreement"]).run()
    next(b for b in app.button if b.label == "Run audit").click().run()
    assert not app.exception, app.exception
    assert any(
        w.value.startswith("only narrow of the independents shares the architecture of the source 'src'")
        for w in app.warning
    )
