"""The model catalogue: torchvision, timm, the local Hugging Face cache and a folder, searched and paged here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_hub_sources_hf_timm import TIMM_NAME, put_hf_repo, timm_repo_files, tiny_timm

from gifviz.hub.catalogue import CatalogueError, search_catalogue


@pytest.fixture
def cached(tmp_path: Path, monkeypatch) -> Path:
    """An offline HF cache holding hf:org/tiny (timm format) and timm's weights for TIMM_NAME."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = timm_repo_files(tmp_path, tiny_timm())
    put_hf_repo(cache, "org/tiny", files)
    put_hf_repo(cache, f"timm/{TIMM_NAME}", {"model.safetensors": files["model.safetensors"]})
    return cache


def sources(page) -> list[str]:
    return [row.source for row in page.rows]


def test_search_finds_a_torchvision_model_with_its_weights_and_random_init(cached, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    page = search_catalogue("resnet18", sources=["torchvision"])
    rows = {row.source: row for row in page.rows}
    assert rows["torchvision:resnet18@IMAGENET1K_V1"].offline is False  # nothing in this TORCH_HOME
    assert rows["torchvision:resnet18"].offline is True and "random init" in rows["torchvision:resnet18"].title
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet18-f37072fd.pth").write_bytes(b"x")
    again = {row.source: row for row in search_catalogue("resnet18", sources=["torchvision"]).rows}
    assert again["torchvision:resnet18@IMAGENET1K_V1"].offline is True


def test_search_finds_timm_names_and_says_which_weights_are_cached(cached):
    rows = {row.source: row for row in search_catalogue("test_resnet", sources=["timm"]).rows}
    assert rows[f"timm:{TIMM_NAME}"].offline is True and "cached" in rows[f"timm:{TIMM_NAME}"].why
    random = rows["timm:test_resnet"]
    assert random.offline and random.options == {"pretrained": False} and "random init" in random.title
    vit = {row.source: row for row in search_catalogue("test_vit.r160", sources=["timm"]).rows}
    assert (
        vit["timm:test_vit.r160_in1k"].offline is False
        and "hf download timm/test_vit.r160_in1k" in vit["timm:test_vit.r160_in1k"].why
    )


def test_search_finds_the_repos_of_the_hf_cache(cached):
    page = search_catalogue("tiny", sources=["hf"])
    assert sources(page) == ["hf:org/tiny"] and page.rows[0].offline and "test_resnet" in page.rows[0].title
    assert page.rows[0].origin == "hf-cache"


def test_search_finds_model_files_in_a_folder(tmp_path):
    (tmp_path / "models" / "deep").mkdir(parents=True)
    (tmp_path / "models" / "deep" / "alpha.pt").write_bytes(b"x")
    (tmp_path / "models" / "notes.txt").write_text("not a model")
    page = search_catalogue("alpha", sources=["folder"], folder=tmp_path / "models")
    assert sources(page) == [f"file:{(tmp_path / 'models' / 'deep' / 'alpha.pt').resolve()}"]
    assert search_catalogue("notes", sources=["folder"], folder=tmp_path / "models").total == 0


def test_pages_split_the_matches_without_overlap(cached):
    first = search_catalogue("test", sources=["timm"], limit=5)
    second = search_catalogue("test", sources=["timm"], offset=5, limit=5)
    assert first.total == second.total > 10 and len(first.rows) == len(second.rows) == 5
    assert not set(sources(first)) & set(sources(second)) and first.has_more
    everything = search_catalogue("test", sources=["timm"], limit=first.total)
    assert sources(everything)[:10] == sources(first) + sources(second) and not everything.has_more


def test_every_word_of_the_query_must_match(cached):
    page = search_catalogue("test vit r160", sources=["timm"], limit=100)
    assert page.total > 0 and all("vit" in s and "r160" in s for s in sources(page))


def test_offline_only_keeps_rows_that_load_here(cached):
    page = search_catalogue("test_resnet", sources=["timm", "hf"], offline_only=True, limit=100)
    assert page.rows and all(row.offline for row in page.rows)
    assert f"timm:{TIMM_NAME}" in sources(page)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sources": ["pypi"]}, "unknown catalogue source"),
        ({"sources": ["folder"], "folder": "/no/such"}, "folder"),
        ({"limit": 0}, "limit >= 1"),
    ],
)
def test_bad_searches_are_one_line(kwargs, expected):
    with pytest.raises(CatalogueError, match=expected):
        search_catalogue("x", **kwargs)


def test_cli_hub_search_prints_rows_end_to_end(cached):
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "gifviz", "hub", "search", "tiny", "--source", "hf", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [{**rows[0], "source": "hf:org/tiny", "offline": True, "origin": "hf-cache"}]


def test_cli_hub_search_pages_and_reports_a_bad_folder_in_one_line(cached, tmp_path, capsys):
    from gifviz.cli import main

    assert main(["hub", "search", "test_resnet", "--source", "timm,hf", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "offline" in out.splitlines()[0] and "--offset 2 for more" in out and f"timm:{TIMM_NAME}" in out
    assert main(["hub", "search", "x", "--source", "folder", "--folder", str(tmp_path / "nope")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gifviz: error: ") and error.count("\n") == 1
