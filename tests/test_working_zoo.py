"""A working zoo: built by picking models, saved as a manifest that Zoo.open reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import make_cnn, save_torchscript
from test_hub_sources_hf_timm import put_hf_repo, timm_repo_files, tiny_timm

from gifviz.hub import Zoo
from gifviz.hub.catalogue import CatalogueRow, search_catalogue
from gifviz.hub.working_zoo import WorkingZoo, WorkingZooError


@pytest.fixture
def working(tmp_path: Path) -> WorkingZoo:
    return WorkingZoo.create(tmp_path / "visitor", "my zoo", "3x32x32", references=tmp_path / "refs")


def test_create_saves_an_empty_zoo_and_never_replaces_one(working, tmp_path):
    assert working.path == tmp_path / "visitor" / "my-zoo.toml" and working.path.is_file()
    before = working.path.read_text()
    with pytest.raises(WorkingZooError, match="already exists"):
        WorkingZoo.create(tmp_path / "visitor", "my zoo", "3x32x32")
    assert working.path.read_text() == before


def test_a_bad_input_space_is_one_line(tmp_path):
    with pytest.raises(WorkingZooError, match="3x224x224"):
        WorkingZoo.create(tmp_path, "z", "3x224")


def test_added_models_get_unique_ids_and_edits_reach_the_saved_manifest(working):
    first = working.add(CatalogueRow("torchvision:resnet18", "resnet18 (random init)", "torchvision"))
    second = working.add("torchvision:resnet18@IMAGENET1K_V1")
    timm_id = working.add(CatalogueRow("timm:test_vit", "t", "timm", options={"pretrained": False}))
    assert (first, second, timm_id) == ("resnet18", "resnet18-2", "test_vit")
    working.rename("resnet18-2", "resnet18-imagenet")
    working.set_parent("resnet18-imagenet", "resnet18", "finetune")
    working.tag("resnet18", "family", "resnet")
    working.save()
    zoo = Zoo.open(working.path)
    assert zoo.ids == ("resnet18", "resnet18-imagenet", "test_vit") and zoo.space.shape == (3, 32, 32)
    child = zoo.spec("resnet18-imagenet")
    assert (child.parent, child.relation) == ("resnet18", "finetune")
    assert zoo.spec("resnet18").tags == {"family": "resnet"}
    assert zoo.spec("test_vit").extra["pretrained"] is False and zoo.spec("test_vit").tags["weights"] == "random init"
    assert zoo.manifest.references == working.path.parent.parent / "refs"
    working.rename("resnet18", "base")  # children follow a renamed parent
    working.remove("test_vit")
    working.save()
    reopened = WorkingZoo.open(working.path)
    assert reopened.ids == ("base", "resnet18-imagenet") and reopened.models[1]["parent"] == "base"


def test_removing_a_parent_drops_the_link(working):
    working.add("torchvision:resnet18", "a")
    working.add("torchvision:resnet18", "b")
    working.set_parent("b", "a", "prune")
    working.remove("a")
    assert working.models == [{"id": "b", "source": "torchvision:resnet18"}]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda z: z.add("torchvision:resnet18", "a"), "already in zoo"),
        (lambda z: z.set_parent("a", "nobody"), "parent 'nobody' is not in zoo"),
        (lambda z: z.rename("a", "b"), "already in zoo"),
        (lambda z: z.remove("ghost"), "no model 'ghost'"),
        (lambda z: z.set_parent("a", "b") or z.set_parent("b", "a"), "loop back"),
        (lambda z: z.add("timm:"), "timm:<name>"),
    ],
)
def test_a_bad_edit_is_one_line_and_leaves_the_zoo_as_it_was(working, edit, expected):
    working.add("torchvision:resnet18", "a")
    working.add("torchvision:resnet18", "b")
    before = [dict(entry) for entry in working.models]
    with pytest.raises(WorkingZooError, match=expected.replace("<", ".").replace(">", ".")) as caught:
        edit(working)
    assert "\n" not in str(caught.value)
    if expected != "loop back":  # the first half of that edit is a valid change of its own
        assert working.models == before


def test_a_picked_file_and_hf_repo_load_from_the_saved_zoo(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    put_hf_repo(cache, "org/tiny", timm_repo_files(tmp_path, tiny_timm()))
    (tmp_path / "files").mkdir()
    save_torchscript(make_cnn(0, channels=3, size=32), tmp_path / "files" / "cnn.pt")
    zoo = WorkingZoo.create(tmp_path / "visitor", "picked", "3x32x32")
    for row in search_catalogue("", sources=["hf", "folder"], folder=tmp_path / "files").rows:
        zoo.add(row)
    zoo.save()
    loaded = Zoo.open(zoo.path).load_all()
    assert [model.id for model in loaded] == ["tiny", "cnn"]
    assert all(model.module(torch.zeros(1, 3, 32, 32)).ndim == 2 for model in loaded[1:])


HAND_WRITTEN = """# the zoo of my audit: why each model is here
name = "mine"  # named after its owner
references = "refs"

[input]
channels = 3
size = [32, 32]

# the model I trained
[[models]]
id = "a"   # the source
source = "torchvision:resnet18"
[models.tags]
owner = "me"

[[models]]
id = "b"
source = "torchvision:resnet18"
parent = "a"
relation = "finetune"
tags = { found = "online" }  # where it was found
"""


def test_editing_a_hand_written_manifest_keeps_its_comments(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(HAND_WRITTEN)
    (tmp_path / "refs").mkdir()
    zoo = WorkingZoo.open(path)
    zoo.add("torchvision:resnet18", "c", relation="independent")
    zoo.remove("a")  # b loses its parent and relation
    zoo.tag("b", "checked", "yes")
    zoo.save()
    text = path.read_text()
    for kept in ("# the zoo of my audit", "# named after its owner", "# where it was found", 'references = "refs"'):
        assert kept in text
    assert "# the source" not in text and 'owner = "me"' not in text  # the removed model's lines went with it
    assert "range" not in text  # the input table says the same space as written
    assert Zoo.open(path).ids == ("b", "c")
    spec = Zoo.open(path).spec("b")
    assert (spec.parent, spec.relation, spec.tags) == (None, None, {"found": "online", "checked": "yes"})
    assert Zoo.open(path).manifest.references == tmp_path / "refs"


def test_an_edit_that_cannot_be_made_in_place_is_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(HAND_WRITTEN)
    zoo = WorkingZoo.open(path)
    zoo.models.reverse()  # no edit of a working zoo reorders models; a caller that does gets an error, not a rewrite
    with pytest.raises(WorkingZooError, match="another order") as caught:
        zoo.save()
    assert "\n" not in str(caught.value) and path.read_text() == HAND_WRITTEN


def test_a_new_zoo_gets_its_models_as_tables(tmp_path):
    zoo = WorkingZoo.create_at(tmp_path / "audit.toml", "1x16x16")
    assert zoo.name == "audit"
    zoo.add("torchvision:resnet18", "a", tags={"k": "v"})
    zoo.add("torchvision:resnet18", "b")
    zoo.save()
    text = zoo.path.read_text()
    assert text.count("[[models]]") == 2 and "models = [" not in text
    assert Zoo.open(zoo.path).ids == ("a", "b")
    zoo.remove("a")
    zoo.remove("b")
    zoo.save()
    assert WorkingZoo.open(zoo.path).ids == ()
    with pytest.raises(WorkingZooError, match="already exists"):
        WorkingZoo.create_at(zoo.path, "1x16x16")
    with pytest.raises(WorkingZooError, match=r"\.toml file"):
        WorkingZoo.create_at(tmp_path / "audit.txt", "1x16x16")
