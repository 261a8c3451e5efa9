"""The model-space pages show any distance method's matrix: ModelGiF's or a peer's, picked on the page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from app_zoo import build_app_zoo
from streamlit.testing.v1 import AppTest
from test_app import download_data, downloads, plotly_array, plotly_specs  # noqa: F401 (downloads: a fixture)

from gifviz.analysis.clustering import cluster
from gifviz.bench import costs
from gifviz.hub import Zoo
from gifviz.methods import MethodInputs, method_matrix
from gifviz.refs import load_reference_folder

APP = str(Path(__file__).resolve().parents[1] / "app.py")
IDS = ["source", "child1", "child2", "indep1", "indep2"]


@pytest.fixture
def manifest(isolated_cache):
    """Under GIFVIZ_HOME: the app opens manifests only inside the folders it is allowed to read."""
    return build_app_zoo(isolated_cache / "zoo")


def open_page(query: dict, page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def peer_matrix(manifest: Path, name: str, n_refs: int):
    zoo = Zoo.open(manifest)
    references = load_reference_folder(zoo.manifest.references, zoo.space, n_refs)
    return method_matrix(name, zoo, IDS, MethodInputs(references, None, zoo.space.value_range))


def test_distances_page_shows_a_peer_methods_matrix(manifest, downloads):  # noqa: F811
    app = open_page({"manifest": str(manifest), "n_refs": "6", "method": "modeldiff"}, "pages/distances.py")
    expected = peer_matrix(manifest, "modeldiff", 6)
    order = cluster(expected, "average").ordered_labels
    (heatmap,) = plotly_specs(app)
    assert heatmap["data"][0]["x"] == list(order)
    np.testing.assert_allclose(plotly_array(heatmap["data"][0]["z"]), expected.subset(order).values, atol=1e-9)
    assert download_data(app, "download_csv", downloads) == expected.subset(order).to_csv_text()
    provenance = json.loads(download_data(app, "download_json", downloads))
    assert provenance["method"] == "modeldiff" and provenance["probe"] == "source"
    assert "ModelDiff" in app.caption[0].value and "Li et al." in app.caption[0].value
    assert heatmap["layout"]["title"]["text"] == "ModelDiff (DDV) distance"


def test_picking_a_method_on_the_page_redraws_the_matrix_and_keeps_it_in_the_url(manifest):
    app = open_page({"manifest": str(manifest), "n_refs": "6", "steps": "4"}, "pages/distances.py")
    assert app.selectbox(key="distance_method").value == "modelgif"
    app.selectbox(key="distance_method").set_value("softmax").run()
    assert not app.exception and app.query_params["method"] in ("softmax", ["softmax"])
    expected = peer_matrix(manifest, "softmax", 6)
    z = plotly_array(plotly_specs(app)[0]["data"][0]["z"])
    order = cluster(expected, "average").ordered_labels
    np.testing.assert_allclose(z, expected.subset(order).values, atol=1e-9)


@pytest.mark.parametrize("page", ["pages/map.py", "pages/clusters.py"])
def test_map_and_clusters_pages_use_the_chosen_method(manifest, page):
    app = open_page({"manifest": str(manifest), "n_refs": "6", "method": "disagreement"}, page)
    assert app.selectbox(key="distance_method").value == "disagreement"
    shown = " ".join(element.value for element in [*app.caption, *app.markdown])
    assert "Output disagreement" in shown


def test_a_slow_method_waits_for_the_compute_button(manifest, monkeypatch):
    # About 280 s for 5 models at N = 6: past the server's 60 s confirmation threshold, within its 600 s limit.
    monkeypatch.setitem(costs.SECONDS_PER_MODEL_AT_32, "zest", 300.0)
    app = open_page({"manifest": str(manifest), "n_refs": "6", "method": "zest"}, "pages/distances.py")
    assert not plotly_specs(app) and "ZEST" in app.warning[0].value
    app.button(key="compute_matrix").click().run()
    assert not app.exception and len(plotly_specs(app)) == 1


def test_a_method_past_the_servers_limit_is_refused_with_the_limit_named(manifest, monkeypatch):
    monkeypatch.setitem(costs.SECONDS_PER_MODEL_AT_32, "zest", 10_000.0)
    app = open_page({"manifest": str(manifest), "n_refs": "6", "method": "zest"}, "pages/distances.py")
    assert not plotly_specs(app) and "GIFVIZ_MAX_SECONDS" in app.error[0].value


def test_a_method_that_needs_labels_says_so_on_the_page(manifest):
    app = open_page({"manifest": str(manifest), "n_refs": "6", "method": "sac-w"}, "pages/distances.py")
    assert "labels" in app.error[0].value and not plotly_specs(app)
