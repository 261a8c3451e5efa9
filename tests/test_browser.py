"""The app in a real browser, walked as a user would: open, compute, look, compare, download.

In a test run the walk uses a small working set, few references and the cheap testbed methods, and saves its
screenshots to a temporary folder (a test never writes tracked files). The README's screenshots are refreshed by the
same walk at the app's default settings, on request:

    python -m pytest tests/test_browser.py --screenshots assets/screenshots
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser_support import ROOT, chromium, running_app, type_text, wait_until_rendered

from gifviz import FieldConfig
from gifviz.app.settings import AppSettings
from gifviz.audit import audit
from gifviz.audit.names import DEFAULT_METHODS
from gifviz.distance import DistanceMatrix
from gifviz.hub import Zoo
from gifviz.jobs import zoo_distances
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore

pytestmark = pytest.mark.browser
BUILTIN = ROOT / "assets" / "zoo" / "builtin" / "zoo.toml"
# Read at import, before the per-test store replaces it: the README's walk shows the user's own store.
USER_HOME = os.environ.get("GIFVIZ_HOME") or str(Path.home() / ".cache" / "gifviz")


@dataclasses.dataclass(frozen=True)
class Walk:
    """What the walk opens: the app's settings in the URL (``query``), and where its screenshots go."""

    query: dict[str, str]
    shots: Path
    readme: bool  # the README's walk: default settings, the store at its default place

    @property
    def suffix(self) -> str:
        return ("?" + "&".join(f"{k}={v}" for k, v in self.query.items())) if self.query else ""


# A user's first look, kept small: a source, one child of each kind, two independents; 16 references.
SMALL_SET = (
    "src-cnn",
    "ft-cnn-1",
    "prune-cnn-1",
    "xprob-cnn-1",
    "transfer-cnn-1",
    "indep-cnn_deep-1",
    "indep-resnet_tiny-2",
)


@pytest.fixture
def walk(request, tmp_path) -> Walk:
    target = request.config.getoption("--screenshots")
    if target:
        return Walk({}, Path(target).resolve(), readme=True)
    return Walk({"n_refs": "16", "models": ",".join(SMALL_SET)}, tmp_path / "screenshots", readme=False)


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def go(page, base: str, walk: Walk, path: str, title: str, charts: int = 0, texts: tuple[str, ...] = ()) -> None:
    page.goto(f"{base}/{path}{walk.suffix}")
    wait_until_rendered(page, title, charts, texts)


def shoot(page, walk: Walk, name: str, full_page: bool = False) -> Path:
    walk.shots.mkdir(parents=True, exist_ok=True)
    path = walk.shots / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.mark.skipif(not BUILTIN.exists(), reason="the built-in zoo has not been built")
def test_new_user_walkthrough_on_the_builtin_zoo(browser, walk, tmp_path):
    home = tmp_path / "home"
    env = {"GIFVIZ_HOME": USER_HOME if walk.readme else str(home)}
    settings = AppSettings.from_query(walk.query)
    with running_app(env) as base:
        page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        go(page, base, walk, "", "Model hub", texts=("gifviz-builtin",))
        button = page.get_by_role("button", name="Compute the")
        if button.is_enabled():
            button.click()
            page.get_by_text("computed").first.wait_for(timeout=600_000)
        wait_until_rendered(page, "Model hub", texts=("working-set fields are in the store",))
        shoot(page, walk, "hub.png")

        go(page, base, walk, "distances", "Distances", charts=1, texts=("Download CSV",))
        ticks = page.locator(".js-plotly-plot .xtick text").evaluate_all("nodes => nodes.map(n => n.textContent)")
        assert "src-cnn" in ticks and "ft-cnn-1" in ticks
        shoot(page, walk, "distances.png")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        downloaded = tmp_path / "downloaded.csv"
        download_info.value.save_as(downloaded)
        shown = DistanceMatrix.from_csv(downloaded)
        if not walk.readme:  # the app's numbers are the library's numbers
            zoo = Zoo.open(BUILTIN)
            refs = load_reference_folder(zoo.manifest.references, zoo.space, settings.n_refs)
            library = zoo_distances(
                zoo, refs, FieldConfig(steps=settings.steps), list(SMALL_SET), store=FieldStore(home)
            )
            assert set(shown.labels) == set(SMALL_SET)
            np.testing.assert_allclose(shown.values, library.subset(shown.labels).values, atol=1e-12)

        go(page, base, walk, "map", "Map of model space", charts=1)
        shoot(page, walk, "map.png")

        go(page, base, walk, "clusters", "Clusters", charts=1)
        shoot(page, walk, "clusters.png")

        go(page, base, walk, "compare", "Compare two models", charts=2, texts=("95% interval",))
        assert page.get_by_text("ft-cnn-1").first.is_visible()  # a source's child is the default partner
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert float(values[0]) == pytest.approx(shown.distance("src-cnn", "ft-cnn-1"), abs=1e-4)
        shoot(page, walk, "compare.png", full_page=True)

        go(page, base, walk, "fields", "Fields", charts=1)
        shoot(page, walk, "fields.png", full_page=True)

        go(page, base, walk, "benchmarks", "Benchmarks")
        if not walk.readme:  # the testbed computes the fields of the zoo's whole lineage family: the smallest N
            type_text(page, "References N", "8")
            wait_until_rendered(page, "Benchmarks", texts=("N = 8 references",))
        page.get_by_role("button", name="Run testbed").click()
        wait_until_rendered(page, "Benchmarks", charts=2, texts=("ROC: extract-prob",), timeout=600_000)
        shoot(page, walk, "benchmarks.png", full_page=True)

        go(page, base, walk, "audit", "Audit", texts=("Run audit",))
        page.get_by_role("button", name="Run audit").click()
        wait_until_rendered(page, "Audit", charts=1, texts=("Download audit (CSV)",), timeout=600_000)
        shoot(page, walk, "audit.png", full_page=True)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download audit (CSV)").click()
        audited = pd.read_csv(download_info.value.path())
        assert set(DEFAULT_METHODS) | {"combined"} == set(audited["method"])
        if not walk.readme:  # the page's evidence is the library's audit of the same models and references
            zoo = Zoo.open(BUILTIN)
            refs = load_reference_folder(zoo.manifest.references, zoo.space, settings.n_refs)
            suspects = sorted(set(audited["suspect"]))
            # the page audits within the working zoo, so its independents are the working zoo's (source flips and
            # source crops weigh their probes by them, so the raw distances depend on which they are)
            independents = [m for m in SMALL_SET if m.startswith("indep-")]
            library = audit(
                zoo, "src-cnn", suspects, independents, references=refs, field_config=FieldConfig(steps=settings.steps)
            )
            expected = library.frame().set_index(["suspect", "method"])["distance"]
            np.testing.assert_allclose(
                audited.set_index(["suspect", "method"])["distance"].loc[expected.index], expected, atol=1e-9
            )

        go(page, base, walk, "settings", "Settings", texts=("Check every stored field",))
        shoot(page, walk, "settings.png")
        page.close()
    # The README's folder also holds other walks' screenshots: this walk must have written each of its own.
    assert {p.name for p in walk.shots.glob("*.png")} >= {
        "audit.png",
        "benchmarks.png",
        "clusters.png",
        "compare.png",
        "distances.png",
        "fields.png",
        "hub.png",
        "map.png",
        "settings.png",
    }
