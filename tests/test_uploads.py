"""Uploading a model into a zoo: the manifest the upload writes elsewhere keeps every relative path working."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
import torch
from conftest import make_cnn, save_torchscript, write_pngs

from gifviz.app.uploads import add_uploaded_model, visitor_folder
from gifviz.errors import GifvizError
from gifviz.hub import Zoo

HUBCONF = """\
dependencies = ["torch"]
import torch
from torch import nn

def tiny(num_classes=10):
    torch.manual_seed(3)
    return nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, num_classes)).eval()
"""


@pytest.fixture
def zoo_with_relative_paths(tmp_path: Path) -> Path:
    """A manifest whose every path is relative to its folder: a TorchScript file, a local torch.hub folder, the
    references and the ``[data]`` transferability CSV."""
    root = tmp_path / "zoo"
    (root / "models").mkdir(parents=True)
    (root / "hubrepo").mkdir()
    (root / "hubrepo" / "hubconf.py").write_text(HUBCONF)
    save_torchscript(make_cnn(0), root / "models" / "plain.pt")
    write_pngs(root / "refs", 3)
    (root / "transferability.csv").write_text("task,digit\ndigit,1.0\n")
    (root / "zoo.toml").write_text(
        'name = "relative"\nreferences = "refs"\n'
        "[input]\nchannels = 1\nsize = [16, 16]\n"
        '[data]\ntransferability = "transferability.csv"\n'
        '[[models]]\nid = "plain"\nfile = "models/plain.pt"\n'
        '[[models]]\nid = "hubbed"\nsource = "hub:hubrepo:tiny"\nnum_classes = 4\n'
    )
    return root / "zoo.toml"


def _torchscript_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(make_cnn(seed)), buffer)
    return buffer.getvalue()


def test_uploaded_manifest_keeps_relative_hub_sources_references_and_data_paths(zoo_with_relative_paths, tmp_path):
    zoo = Zoo.open(zoo_with_relative_paths)
    written = add_uploaded_model(zoo, "mine.pt", _torchscript_bytes(5), None, 10, visitor_folder("a1b2c3d4", tmp_path))

    assert written.parent != zoo_with_relative_paths.parent  # the case that breaks relative paths
    uploaded = Zoo.open(written)
    assert uploaded.ids == (*zoo.ids, "upload-mine")
    x = torch.rand(2, 1, 16, 16)
    hubbed = uploaded.load("hubbed")  # the hub folder is found from the new manifest's folder
    assert hubbed.module(x).shape == (2, 4)
    torch.testing.assert_close(hubbed.module(x), zoo.load("hubbed").module(x))
    assert uploaded.load("upload-mine").module(x).shape == (2, 10)
    assert uploaded.manifest.references == zoo.manifest.references == zoo_with_relative_paths.parent / "refs"
    # Readers resolve [data] paths against the manifest's folder (gifviz.bench.tasks); the written one must still
    # name the zoo's CSV.
    transferability = Path(uploaded.manifest.root) / uploaded.manifest.data["transferability"]
    assert transferability.resolve() == (zoo_with_relative_paths.parent / "transferability.csv").resolve()
    assert transferability.read_text().startswith("task,digit")
    for model_id in zoo.ids:  # the same rule made both manifests' sources
        assert uploaded.spec(model_id).source == zoo.spec(model_id).source


def test_upload_never_writes_into_the_zoo_folder_nor_replaces_a_file(zoo_with_relative_paths, tmp_path):
    before = zoo_with_relative_paths.read_text()
    files_before = sorted(zoo_with_relative_paths.parent.rglob("*"))
    folder = visitor_folder("a1b2c3d4", tmp_path)
    first = add_uploaded_model(Zoo.open(zoo_with_relative_paths), "mine.pt", _torchscript_bytes(5), None, 10, folder)
    # The same file uploaded again into the original zoo gets its own model file and its own manifest; the first
    # upload's manifest still holds the first model (a link to it keeps showing it).
    again = add_uploaded_model(Zoo.open(zoo_with_relative_paths), "mine.pt", _torchscript_bytes(6), None, 10, folder)
    assert zoo_with_relative_paths.read_text() == before
    assert sorted(zoo_with_relative_paths.parent.rglob("*")) == files_before
    assert first != again and first.parent == again.parent == folder
    assert [entry["id"] for entry in tomllib.loads(first.read_text())["models"]][-1] == "upload-mine"
    models = tomllib.loads(again.read_text())["models"]
    assert [entry["id"] for entry in models][-1] == "upload-mine-2"
    assert Path(models[-1]["file"]).name == "upload-mine-2.pt"
    assert (folder / "upload-mine.pt").read_bytes() == _torchscript_bytes(5)
    assert not list(folder.glob(".upload-*"))  # no temporary file left behind


def test_a_bad_upload_raises_one_error_and_leaves_nothing(zoo_with_relative_paths, tmp_path):
    folder = visitor_folder("a1b2c3d4", tmp_path)
    with pytest.raises(GifvizError):
        add_uploaded_model(Zoo.open(zoo_with_relative_paths), "broken.pt", b"not a model", None, 10, folder)
    assert not any(folder.iterdir())
