"""The served app in a real browser under hostile addresses and concurrent uploads.

One server for the module, on a three-model zoo that stands in for the built-in one (``GIFVIZ_BUILTIN_ZOO``), so
each address takes a few seconds. Every hostile value points into a folder outside the allowed roots (``outside``)
or at ``/etc/passwd``; after the walk that folder must be exactly as it was, and nothing the addresses named exists.
"""

from __future__ import annotations

import io
import shutil
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest
import torch
from browser_support import (
    EXCEPTION_SELECTOR,
    alert_texts,
    chromium,
    running_app,
    tree_listing,
    wait_until_rendered,
)
from conftest import make_cnn, save_torchscript, write_pngs

pytestmark = pytest.mark.browser
MODELS = ("source", "child", "other")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, GIFVIZ_HOME, the folder outside every allowed root) of one running app."""
    root = tmp_path_factory.mktemp("served")
    zoo = root / "zoos" / "builtin"
    (zoo / "models").mkdir(parents=True)
    lines = ['name = "served-zoo"', 'references = "refs"', "[input]", "channels = 1", "size = [16, 16]"]
    for seed, model_id in enumerate(MODELS):
        save_torchscript(make_cnn(seed), zoo / "models" / f"{model_id}.pt")
        lines += ["[[models]]", f'id = "{model_id}"', f'file = "models/{model_id}.pt"']
    (zoo / "zoo.toml").write_text("\n".join(lines) + "\n")
    write_pngs(zoo / "refs", 128)  # the app's default N, so the default view needs no message
    outside = root / "outside"
    write_pngs(outside / "refs", 2)
    shutil.copy(zoo / "zoo.toml", outside / "zoo.toml")
    home = root / "home"
    env = {"GIFVIZ_HOME": str(home), "GIFVIZ_BUILTIN_ZOO": str(root / "zoos"), "GIFVIZ_ALLOWED_ROOTS": ""}
    with running_app(env) as base:
        yield base, home, outside


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def hostile_addresses(home: Path, outside: Path) -> list[tuple[str, str, dict[str, str], str]]:
    """(page path, heading, query, a word the message must hold): every path parameter absolute and with ``..``,
    ``/etc/passwd``, absurd numbers, unknown ids, a very long value, and the store's folder chosen by the address."""
    escape = home / ".." / "outside"  # starts inside GIFVIZ_HOME, resolves outside it
    return [
        ("", "Model hub", {"cache_dir": str(outside / "chosen" / "by" / "url")}, "cache_dir"),
        (
            "distances",
            "Distances",
            {"cache_dir": str(outside / "store"), "models": "source,child", "n_refs": "4"},
            "cache_dir",
        ),
        ("", "Model hub", {"manifest": "/etc/passwd"}, "outside the folders"),
        ("", "Model hub", {"manifest": str(outside / "zoo.toml")}, "outside the folders"),
        ("", "Model hub", {"manifest": str(escape / "zoo.toml")}, "outside the folders"),
        ("fields", "Fields", {"refs": str(outside / "refs"), "n_refs": "2"}, "outside the folders"),
        ("fields", "Fields", {"refs": str(escape / "refs"), "n_refs": "2"}, "outside the folders"),
        ("settings", "Settings", {"n_refs": "-5"}, "at least 1"),
        ("settings", "Settings", {"n_refs": "99999999999"}, "limit"),
        ("settings", "Settings", {"steps": "lots"}, "not a whole number"),
        ("", "Model hub", {"models": "no-such-model,source"}, "no-such-model"),
        ("settings", "Settings", {"baseline": "b" * 20_000}, "characters"),
    ]


def test_hostile_addresses_show_a_message_and_create_nothing_outside_the_roots(browser, served):
    base, home, outside = served
    before = tree_listing(outside)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path, heading, query, words in hostile_addresses(home, outside):
        suffix = "&".join(f"{key}={quote(value, safe='')}" for key, value in query.items())
        page.goto(f"{base}/{path}?{suffix}")
        wait_until_rendered(page, heading, timeout=120_000)
        shown = alert_texts(page)
        assert any(words in text for text in shown), (path, query.keys(), shown)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0, page.locator(EXCEPTION_SELECTOR).all_inner_texts()
    page.close()
    assert tree_listing(outside) == before  # no folder, store, blob or upload appeared outside the allowed roots
    assert (home / "index.sqlite").exists()  # the Distances page's fields went to the operator's store


def _torchscript_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(make_cnn(seed)), buffer)
    return buffer.getvalue()


def test_two_visitors_uploading_at_once_keep_their_own_working_zoos(browser, served, tmp_path):
    base, home, _ = served
    files = {}
    for name, seed in (("alice", 11), ("bob", 12)):
        files[name] = tmp_path / name / "mine.pt"
        files[name].parent.mkdir()
        files[name].write_bytes(_torchscript_bytes(seed))
    visitors = {name: browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for name in files}
    for name, page in visitors.items():
        page.goto(base)
        wait_until_rendered(page, "Model hub", timeout=120_000)
        page.locator('input[type="file"]').first.set_input_files(str(files[name]))
        page.get_by_role("button", name="Add to this zoo").wait_for(timeout=60_000)
    # Both press "Add" at once (neither click waits for its page), each in their own browser context: their own
    # session and cookies, so the server runs the two uploads side by side.
    for page in visitors.values():
        page.get_by_role("button", name="Add to this zoo").click(no_wait_after=True)
    manifests = {}
    for name, page in visitors.items():
        page.get_by_text("to your working zoo").first.wait_for(timeout=120_000)
        wait_until_rendered(page, "Model hub", timeout=120_000)
        manifests[name] = Path(parse_qs(urlparse(page.url).query)["manifest"][0])
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert page.get_by_text(f"{len(MODELS) + 1} models on inputs").count() == 1  # the zoo's models + theirs
    assert manifests["alice"] != manifests["bob"]
    for name, manifest in manifests.items():
        assert manifest.parent.parent == home / "uploads"  # this visitor's own folder
        entries = tomllib.loads(manifest.read_text())["models"]
        assert [entry["id"] for entry in entries] == [*MODELS, "upload-mine"]
        assert Path(entries[-1]["file"]).read_bytes() == files[name].read_bytes()
    for page in visitors.values():
        page.context.close()
