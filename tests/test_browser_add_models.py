"""Add models in a real browser: from the default app, with no manifest typed, a user builds a zoo from
the catalogue (three torchvision architectures, one timm model, one repo of a Hugging Face cache), uploads eight
reference images, computes the fields, downloads the Distances CSV, and ``gifviz hub ls`` lists the saved zoo.

Everything is offline: the Hugging Face cache is a folder the test lays out (``HF_HUB_OFFLINE=1``) and every model
is randomly initialised, on a 3x32x32 space so each field takes a second or two. The screenshots go to a temporary
folder; ``--screenshots DIR`` also saves the README's two (``add_models_search.png``, ``add_models_zoo.png``) there:

    python -m pytest tests/test_browser_add_models.py --screenshots assets/screenshots
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from browser_support import (
    EXCEPTION_SELECTOR,
    ROOT,
    alert_texts,
    choose_options,
    chromium,
    open_from_sidebar,
    running_app,
    type_text,
    upload_files,
    wait_until_rendered,
)
from conftest import write_pngs

from gifviz.distance import DistanceMatrix

pytestmark = pytest.mark.browser
timm = pytest.importorskip("timm")
pytest.importorskip("playwright.sync_api")
from test_hub_sources_hf_timm import put_hf_repo, timm_repo_files, tiny_timm  # noqa: E402 (needs timm)

HF_REPO = "gifviz-tests/tiny-timm"  # the cached repo: a 5-class timm test_resnet with its own 32-px data config
SPACE = "3x32x32"
# (what the user types in the search box, the rows they pick from its results: "<source> · <title>")
SEARCHES = (
    ("test_resnet", ("timm:test_resnet · test_resnet (timm, random init)",
                     f"hf:{HF_REPO} · {HF_REPO} (timm test_resnet)")),
    ("resnet18", ("torchvision:resnet18 · resnet18 (random init)",)),
    ("mobilenet_v3_small", ("torchvision:mobilenet_v3_small · mobilenet_v3_small (random init)",)),
    ("squeezenet1_1", ("torchvision:squeezenet1_1 · squeezenet1_1 (random init)",)),
)  # fmt: skip
PICKED = {pick.split(" · ")[0] for _, picks in SEARCHES for pick in picks}
REFERENCES = 8
README_SHOTS = ("add_models_search.png", "add_models_zoo.png")


@pytest.fixture
def offline_env(tmp_path: Path, isolated_cache: Path) -> dict[str, str]:
    """The app's environment: its own GIFVIZ_HOME, an offline HF cache holding ``HF_REPO``, an empty TORCH_HOME."""
    files = timm_repo_files(
        tmp_path,
        tiny_timm(classes=5, seed=3),
        model_config={"label_names": ["ant", "bee", "cat", "dog", "eel"]},
        data_config={"input_size": (3, 32, 32)},
    )
    put_hf_repo(tmp_path / "hf-cache", HF_REPO, files)
    return {
        "GIFVIZ_HOME": str(isolated_cache),
        "HF_HOME": str(tmp_path / "hf-home"),  # no user token or settings are read
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "HF_HUB_OFFLINE": "1",
        "TORCH_HOME": str(tmp_path / "torch"),
        "GIFVIZ_APP_LOG": str(tmp_path / "app.log"),
    }


def no_errors(page) -> None:
    """Nothing went wrong on the page: no exception box and no error message."""
    assert page.locator(EXCEPTION_SELECTOR).count() == 0, page.locator(EXCEPTION_SELECTOR).all_inner_texts()
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert not errors, errors


def shoot(page, folders: list[Path], name: str) -> None:
    """Save the screenshot ``name`` (what the window shows) into each of ``folders``."""
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name))


def test_a_zoo_built_from_the_catalogue_is_computed_and_compared(request, tmp_path, offline_env):
    target = request.config.getoption("--screenshots")
    shots = [tmp_path / "screenshots", *([Path(target).resolve()] if target else [])]
    images = sorted(write_pngs(tmp_path / "my-images", REFERENCES, size=48, channels=3).glob("*.png"))
    home = Path(offline_env["GIFVIZ_HOME"])

    with running_app(offline_env) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(base)
        wait_until_rendered(page, "Model hub", texts=("gifviz-builtin",))  # the default app: the built-in zoo
        open_from_sidebar(page, "Add models", "Add models", texts=("Your working zoo starts with",))

        for number, (query, picks) in enumerate(SEARCHES):
            type_text(page, "Search models", query)
            wait_until_rendered(page, "Add models", texts=("page 1 of",))
            choose_options(page, "Pick models from this page", picks)
            wait_until_rendered(page, "Add models", texts=(f"Add {len(picks)} picked model(s)",))
            if number == 0:  # the first add names the zoo's input space: a small one, so each field takes seconds
                type_text(page, "Input space (CxHxW)", SPACE)
                wait_until_rendered(page, "Add models")
                assert page.get_by_label("Input space (CxHxW)", exact=True).input_value() == SPACE
                shoot(page, shots, "add_models_search.png")  # results, their offline column, the picks
            page.get_by_role("button", name=f"Add {len(picks)} picked model(s)").click()
            wait_until_rendered(page, "Add models", texts=("added ", "Your working zoo: my-zoo"))
            no_errors(page)
            assert not [text for text in alert_texts(page) if "will not load" in text]  # every pick is offline

        (manifest,) = (home / "uploads").glob("*/my-zoo.toml")
        entries = tomllib.loads(manifest.read_text())["models"]
        assert {entry["source"] for entry in entries} == PICKED
        ids = [entry["id"] for entry in entries]

        page.locator('[data-testid="stRadio"]').get_by_text("upload", exact=True).click()
        wait_until_rendered(page, "Add models", texts=("Images, or one zip of images",))
        upload_files(page, images)
        page.get_by_role("button", name="Use the uploaded images").click()
        converted = f"{REFERENCES} uploaded images, converted to {SPACE}"
        wait_until_rendered(page, "Add models", texts=(converted, f"5 models on inputs {SPACE}"))
        no_errors(page)
        # Streamlit scrolls its main block, not the document: bring the zoo to the top of the window to show it.
        page.get_by_role("heading", name="Your working zoo: my-zoo").evaluate("h => h.scrollIntoView()")
        wait_until_rendered(page, "Add models")
        shoot(page, shots, "add_models_zoo.png")  # the working zoo: its models, space and uploaded references

        page.get_by_role("button", name="Open in the app").click()
        wait_until_rendered(page, "Add models", texts=("the app now shows my-zoo",))
        # The user's eight images are fewer than the app's default N: they set N on the Settings page.
        open_from_sidebar(page, "Settings", "Settings")
        type_text(page, "Reference images N", str(REFERENCES))
        page.get_by_role("button", name="Apply").click()
        wait_until_rendered(page, "Settings")
        assert page.get_by_label("Reference images N", exact=True).input_value() == str(REFERENCES)

        open_from_sidebar(page, "Hub", "Model hub", texts=("my-zoo", "0 of 5 working-set fields are in the store"))
        no_errors(page)
        page.get_by_role("button", name="Compute the 5 missing field(s)").click()
        wait_until_rendered(page, "Model hub", texts=("5 of 5 working-set fields are in the store",))
        no_errors(page)

        open_from_sidebar(page, "Distances", "Distances")
        wait_until_rendered(page, "Distances", charts=1, texts=("Download CSV",))
        no_errors(page)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        downloaded = tmp_path / "distances.csv"
        download_info.value.save_as(downloaded)
        page.close()

    shown = DistanceMatrix.from_csv(downloaded)
    assert sorted(shown.labels) == sorted(ids)
    assert all(shown.distance(model_id, model_id) == pytest.approx(0.0, abs=1e-6) for model_id in ids)

    listing = subprocess.run(
        [sys.executable, "-m", "gifviz", "hub", "ls", "--json", str(manifest)],
        cwd=ROOT,
        env={**os.environ, **offline_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    listed = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    assert [model["id"] for model in listed] == ids and {model["source"] for model in listed} == PICKED
    assert all(model["params"] > 0 for model in listed)  # each one loaded, offline
    # the walk's own folder holds exactly the README's two; a --screenshots folder may hold the other walk's too
    assert sorted(path.name for path in shots[0].glob("*.png")) == sorted(README_SHOTS)
    assert set(README_SHOTS) <= {path.name for path in shots[-1].glob("*.png")}
