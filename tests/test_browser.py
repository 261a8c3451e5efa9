"""The app in a real browser, walked as a user would: open, compute, look, compare, download. Saves the README's
screenshots to assets/screenshots/."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app

from gifviz import FieldConfig
from gifviz.app.settings import AppSettings
from gifviz.hub import Zoo
from gifviz.jobs import zoo_distances
from gifviz.matrix import DistanceMatrix
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore

pytestmark = pytest.mark.browser
SHOTS = ROOT / "assets" / "screenshots"
BUILTIN = ROOT / "assets" / "zoo" / "builtin" / "zoo.toml"


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs it (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def wait_for_app(page, title: str, timeout: float = 300_000) -> None:
    """The page's title is drawn and Streamlit has finished running the script (no 'running' indicator)."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def go(page, base: str, path: str, title: str) -> None:
    page.goto(f"{base}/{path}")
    wait_for_app(page, title)


@pytest.mark.skipif(not BUILTIN.exists(), reason="the built-in zoo has not been built")
def test_new_user_walkthrough_on_the_builtin_zoo(browser, tmp_path):
    home = tmp_path / "home"
    settings = AppSettings()
    with running_app({"GIFVIZ_HOME": str(home)}) as base:
        page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        go(page, base, "", "Model hub")
        assert page.get_by_text("gifviz-builtin").first.is_visible()
        button = page.get_by_role("button", name="Compute the")
        button.click()
        page.get_by_text("computed").first.wait_for(timeout=300_000)
        wait_for_app(page, "Model hub")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "hub.png"), full_page=False)

        go(page, base, "distances", "Distances")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        ticks = page.locator(".js-plotly-plot .xtick text").evaluate_all("nodes => nodes.map(n => n.textContent)")
        assert "src-cnn" in ticks and "ft-cnn-1" in ticks
        page.screenshot(path=str(SHOTS / "distances.png"), full_page=False)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        downloaded = tmp_path / "downloaded.csv"
        download_info.value.save_as(downloaded)
        shown = DistanceMatrix.from_csv(downloaded)
        zoo = Zoo.open(BUILTIN)
        refs = load_reference_folder(zoo.manifest.references, zoo.space, settings.n_refs)
        ids = [s.id for s in zoo.specs if s.extra.get("family") == "lineage"]
        library = zoo_distances(zoo, refs, FieldConfig(steps=settings.steps), ids, store=FieldStore(home))
        assert set(shown.labels) == set(ids)
        np.testing.assert_allclose(shown.values, library.subset(shown.labels).values, atol=1e-12)

        go(page, base, "map", "Map of model space")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        page.screenshot(path=str(SHOTS / "map.png"), full_page=False)

        go(page, base, "clusters", "Clusters")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        page.screenshot(path=str(SHOTS / "clusters.png"), full_page=False)

        go(page, base, "compare", "Compare two models")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        assert page.get_by_text("ft-cnn-1").first.is_visible()  # a source's child is the default partner
        page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)

        go(page, base, "fields", "Fields")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        page.screenshot(path=str(SHOTS / "fields.png"), full_page=True)

        go(page, base, "benchmarks", "Benchmarks")
        page.get_by_role("button", name="Run testbed").click()
        page.get_by_text("ROC: extract-prob").first.wait_for(timeout=600_000)
        wait_for_app(page, "Benchmarks")
        page.screenshot(path=str(SHOTS / "benchmarks.png"), full_page=True)

        go(page, base, "settings", "Settings")
        page.screenshot(path=str(SHOTS / "settings.png"), full_page=False)
        page.close()
