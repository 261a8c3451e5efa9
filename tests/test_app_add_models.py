"""The "Add models" page: search the catalogue, build a visitor's working zoo, edit it, choose its space and
references, and open it in the app. Offline: the Hugging Face cache and TORCH_HOME are temporary folders."""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import write_pngs
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_hub_sources_hf_timm import put_hf_repo, timm_repo_files, tiny_timm

from gifviz.app import catalogue as cat
from gifviz.app import reference_uploads
from gifviz.app.serving import ServingPolicy, ServingRefused
from gifviz.app.settings import AppSettings
from gifviz.errors import GifvizError
from gifviz.hub import Zoo
from gifviz.hub.catalogue import CatalogueRow
from gifviz.hub.working_zoo import WorkingZoo, WorkingZooError
from gifviz.refs import load_image, load_reference_folder
from gifviz.space import InputSpace

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/add_models.py"
TIMEOUT = 120


@pytest.fixture
def offline(tmp_path: Path, monkeypatch, isolated_cache: Path) -> Path:
    """An offline HF cache holding hf:org/tiny (a 3-class timm model with a 48-px data config), an empty
    TORCH_HOME; returns GIFVIZ_HOME (the allowed root the visitors' folders live in)."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    files = timm_repo_files(tmp_path, tiny_timm(), data_config={"input_size": (3, 48, 48)})
    put_hf_repo(cache, "org/tiny", files)
    return isolated_cache


def png_bytes(seed: int, size: int = 20) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def row(source: str, offline: bool = True, **options) -> CatalogueRow:
    return CatalogueRow(source, source, "timm", offline, "random init" if offline else "not cached", options)


# --- pure functions ------------------------------------------------------------------------------------------------


def test_an_empty_search_no_source_and_no_match_are_one_message_each(offline):
    policy = ServingPolicy()
    with pytest.raises(cat.CatalogueSearchError, match="type part of a model's name"):
        cat.search("   ", ["timm"], "", 0, policy)
    with pytest.raises(cat.CatalogueSearchError, match="at least one source"):
        cat.search("resnet", [], "", 0, policy)
    with pytest.raises(cat.CatalogueSearchError, match=r"did you mean .*resnet18") as caught:
        cat.search("resnt18", ["torchvision"], "", 0, policy)
    assert "\n" not in str(caught.value)


def test_search_pages_turn_and_restart_for_a_new_query(offline):
    state: dict = {}
    key = cat.search_key("resnet", ["torchvision", "timm"], "", False)
    first = cat.search("resnet", ["torchvision", "timm"], "", cat.page_number(state, key), ServingPolicy())
    assert len(first.rows) == cat.PAGE_SIZE and first.total > 2 * cat.PAGE_SIZE and first.offset == 0
    cat.turn_page(state, key, first, 1)
    second = cat.search("resnet", ["torchvision", "timm"], "", cat.page_number(state, key), ServingPolicy())
    assert second.offset == cat.PAGE_SIZE and not {r.source for r in first.rows} & {r.source for r in second.rows}
    cat.turn_page(state, key, second, -5)
    assert cat.page_number(state, key) == 0
    assert cat.page_number(state, cat.search_key("resnet50", ["timm"], "", False)) == 0
    assert "page 1 of" in cat.page_caption(first) and "torchvision" in cat.page_caption(first)


def test_a_model_folder_must_lie_in_the_allowed_roots(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    for folder in (allowed, outside):
        folder.mkdir()
        (folder / "alpha.pt").write_bytes(b"x")
    policy = ServingPolicy(roots=(allowed.resolve(),))
    with pytest.raises(ServingRefused, match=r"model folder .* outside the folders this server opens"):
        cat.search("alpha", ["folder"], str(outside), 0, policy)
    with pytest.raises(ServingRefused):  # .. cannot lead out of a root
        cat.search("alpha", ["folder"], str(allowed / ".." / "outside"), 0, policy)
    found = cat.search("alpha", ["folder"], str(allowed), 0, policy)
    assert [r.source for r in found.rows] == [f"file:{(allowed / 'alpha.pt').resolve()}"]


def test_the_suggested_space_is_the_first_picks_own_input_size(offline):
    assert cat.suggested_space(row("timm:test_resnet.r160_in1k")) == "3x160x160"
    assert cat.suggested_space(row("hf:org/tiny")) == "3x48x48"  # from the cached repo's config.json
    assert cat.suggested_space(row("torchvision:resnet18@IMAGENET1K_V1")) == "3x224x224"
    assert cat.suggested_space(row("file:/nowhere/model.pt")) == cat.DEFAULT_SPACE
    assert cat.suggested_space(None) == cat.DEFAULT_SPACE


def test_picked_rows_make_a_manifest_that_zoo_open_reads(offline, tmp_path):
    zoo = cat.create_zoo(tmp_path, "my zoo", "3x32x32")
    messages = cat.add_rows(zoo, [row("timm:test_resnet", pretrained=False), row("timm:test_vit.r160_in1k", False)])
    assert messages[0] == ("success", f"added test_resnet, test_vit.r160_in1k to {zoo.path.name}")
    assert any(level == "warning" and "will not load on this machine offline" in text for level, text in messages)
    again = cat.add_rows(zoo, [row("timm:test_resnet", pretrained=False)])  # the same model twice
    assert again == [("warning", "timm:test_resnet is already in your working zoo as 'test_resnet'; not added again")]
    opened = Zoo.open(zoo.path)
    assert opened.ids == ("test_resnet", "test_vit.r160_in1k") and opened.space.shape == (3, 32, 32)
    assert opened.manifest.references == reference_uploads.builtin_references().resolve()
    with pytest.raises(WorkingZooError, match="already exists"):  # a name that is taken never replaces a zoo
        cat.create_zoo(tmp_path, "my zoo", "3x32x32")
    with pytest.raises(WorkingZooError, match=r"CxHxW|3x224x224"):
        cat.create_zoo(tmp_path, "other", "big")


def test_edits_persist_and_a_refused_edit_changes_nothing(offline, tmp_path):
    zoo = cat.create_zoo(tmp_path, "edits", "3x32x32")
    cat.add_rows(zoo, [row("timm:test_resnet", pretrained=False), row("timm:test_vit", pretrained=False)])
    cat.edit_zoo(zoo, "rename", "test_vit", "student")
    cat.edit_zoo(zoo, "parent", "student", "test_resnet", "distill")
    cat.edit_zoo(zoo, "tag", "student", "data=imagenet")
    before = zoo.path.read_text()
    for action, text, match in [("rename", "test_resnet", "already in zoo"), ("tag", "novalue", "key=value"),
                                ("parent", "ghost", "not in zoo")]:  # fmt: skip
        with pytest.raises(WorkingZooError, match=match):
            cat.edit_zoo(zoo, action, "student", text)
    assert zoo.path.read_text() == before
    entries = {entry["id"]: entry for entry in tomllib.loads(before)["models"]}
    assert entries["student"]["parent"] == "test_resnet" and entries["student"]["relation"] == "distill"
    assert entries["student"]["tags"]["data"] == "imagenet"
    cat.edit_zoo(zoo, "remove", "test_resnet")
    assert Zoo.open(zoo.path).ids == ("student",)
    assert "parent" not in WorkingZoo.open(zoo.path).models[0]  # the child lost its link to the removed model


def test_uploaded_images_and_a_zip_become_references_on_the_space(tmp_path):
    space = InputSpace(3, 16, 16)
    members = {"../../escape.png": png_bytes(0), "deep/dir/b.png": png_bytes(1), "notes.txt": b"skip me"}
    uploads = [("zipped.zip", zip_bytes(members)), ("c.png", png_bytes(2, size=40))]
    images = reference_uploads.uploaded_references(uploads, space, ServingPolicy())
    assert [image.shape for _, image in images] == [(3, 16, 16)] * 3
    zoo = WorkingZoo.create(tmp_path / "visitor", "z", space)
    reference_uploads.use_uploaded_references(zoo, uploads, tmp_path / "visitor", ServingPolicy())
    written = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.png"))
    assert written == [Path(f"visitor/z-refs-1/ref_00{i}.png") for i in range(3)]  # member names never used as paths
    loaded = load_reference_folder(WorkingZoo.open(zoo.path).references, space)
    np.testing.assert_allclose(loaded.images.numpy(), np.stack([image for _, image in images]), atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    ("uploads", "match"),
    [
        ([("notes.png", b"not an image")], "notes.png is not an image"),
        ([("empty.zip", zip_bytes({"readme.txt": b"x"}))], "empty.zip holds no image files"),
        ([("broken.zip", b"PK not a zip")], "broken.zip is not a readable zip"),
        ([("bad.zip", zip_bytes({"x.png": b"garbage"}))], "bad.zip:'x.png' is not an image"),
    ],
)
def test_each_bad_reference_upload_is_one_message(uploads, match):
    with pytest.raises(GifvizError, match=match) as caught:
        reference_uploads.uploaded_references(uploads, InputSpace(3, 16, 16), ServingPolicy())
    assert "\n" not in str(caught.value)


def test_uploads_respect_the_servers_size_and_count_limits():
    small = ServingPolicy(max_upload_mb=0.001, max_refs=2)  # about 1 KiB per file
    with pytest.raises(ServingRefused, match="over this server's limit"):
        reference_uploads.uploaded_references([("big.png", png_bytes(0, size=64))], InputSpace(3, 8, 8), small)
    few = ServingPolicy(max_refs=2)
    many = [("z.zip", zip_bytes({f"{i}.png": png_bytes(i, 8) for i in range(3)}))]
    with pytest.raises(ServingRefused, match="more than 2 reference images"):
        reference_uploads.uploaded_references(many, InputSpace(3, 8, 8), few)


def test_png_round_trip_is_exact_on_the_space(tmp_path):
    space = InputSpace(1, 8, 8, value_range=(-1.0, 1.0))
    image = np.random.default_rng(0).integers(0, 256, (1, 8, 8)).astype(np.float32) / 255 * 2 - 1
    (tmp_path / "a.png").write_bytes(reference_uploads.to_png(image, space))
    np.testing.assert_allclose(load_image(tmp_path / "a.png", space).numpy(), image, atol=1e-6)


def test_open_in_app_needs_models_and_names_the_working_zoo(tmp_path):
    zoo = WorkingZoo.create(tmp_path, "z", "3x8x8")
    with pytest.raises(WorkingZooError, match="no models yet"):
        cat.open_in_app(zoo, AppSettings())
    zoo.add("timm:test_resnet", pretrained=False)
    opened = cat.open_in_app(zoo, AppSettings(models=("a",), refs="/x"))
    assert opened.manifest == str(zoo.path) and opened.models == () and opened.refs is None
    assert opened.n_refs == AppSettings().n_refs  # no references named yet: N stays
    folder = tmp_path / "four"
    write_pngs(folder, 4, size=8, channels=3)
    zoo.set_references(folder)
    assert cat.open_in_app(zoo, AppSettings()).n_refs == 4  # not the default 128: the next page would fail


# --- the page ------------------------------------------------------------------------------------------------------


def open_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def search(app: AppTest, query: str, sources: list[str]) -> None:
    app.multiselect(key="catalogue_sources").set_value(sources)
    app.text_input(key="catalogue_query").set_value(query).run()
    assert not app.exception, app.exception


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label.startswith(label))


def visitor_manifest(home: Path) -> Path:
    (manifest,) = (home / "uploads").glob("*/*.toml")
    return manifest


def test_the_page_searches_pages_and_builds_edits_and_opens_a_zoo(offline):
    app = open_page()
    assert "type part of a model's name" in app.warning[0].value  # nothing typed yet: one message, no table
    search(app, "resnet18", ["torchvision", "timm"])
    sources = list(app.dataframe[0].value["source"])
    assert "torchvision:resnet18" in sources and "timm:resnet18" in sources
    search(app, "resnet", ["torchvision", "timm"])
    assert "page 1 of" in app.caption[0].value
    button(app, "Next page").click().run()
    assert "page 2 of" in app.caption[0].value
    search(app, "zzqqxx", ["timm"])
    assert "no model matches 'zzqqxx'" in app.warning[0].value and not app.exception

    search(app, "test_resnet", ["timm", "hf"])
    table = app.dataframe[0].value
    assert dict(zip(table["source"], table["offline"], strict=True))["hf:org/tiny"] == "yes"
    picks = next(widget for widget in app.multiselect if widget.label.startswith("Pick models"))
    picks.set_value(["timm:test_resnet", "hf:org/tiny"]).run()
    assert app.text_input[-1].value == "3x160x160"  # the first pick's own input size, as a default
    app.text_input[-1].set_value("3x32x32")
    button(app, "Add 2 picked").click().run()
    assert not app.exception and "added test_resnet, tiny" in app.success[0].value
    manifest = visitor_manifest(offline)
    assert Zoo.open(manifest).ids == ("test_resnet", "tiny") and Zoo.open(manifest).space.shape == (3, 32, 32)
    table = app.dataframe[0].value
    in_zoo = dict(zip(table["source"], table["in your zoo"], strict=True))
    assert in_zoo["timm:test_resnet"] == "test_resnet" and in_zoo["hf:org/tiny"] == "tiny"
    assert in_zoo["timm:test_resnet.r160_in1k"] == ""

    def edit(model_id: str, action: str, text: str = "", relation: str = "") -> None:
        app.selectbox(key="edit_model").set_value(model_id)
        app.selectbox(key="edit_action").set_value(action)
        app.text_input(key="edit_text").set_value(text)
        app.text_input(key="edit_relation").set_value(relation)
        button(app, "Apply the edit").click().run()
        assert not app.exception, app.exception

    edit("tiny", "rename", "student")
    edit("student", "parent", "test_resnet", "finetune")
    edit("student", "rename", "test_resnet")
    assert "already in zoo" in app.error[0].value  # a rename to an existing id: one message, nothing changed
    entries = {e["id"]: e for e in tomllib.loads(manifest.read_text())["models"]}
    assert entries["student"]["parent"] == "test_resnet" and entries["student"]["relation"] == "finetune"
    search(app, "resnet18", ["torchvision"])
    app.multiselect[-1].set_value(["torchvision:resnet18@IMAGENET1K_V1"]).run()
    button(app, "Add 1 picked").click().run()
    assert any("will not load on this machine offline" in w.value for w in app.warning)
    edit("resnet18", "remove")
    assert Zoo.open(manifest).ids == ("test_resnet", "student")

    button(app, "Open in the app").click().run()
    assert not app.exception and "the app now shows" in app.success[0].value
    app.switch_page("pages/hub.py").run()
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value["id"]) == ["test_resnet", "student"]


def test_the_page_takes_uploaded_references_and_refuses_outside_folders(offline, tmp_path):
    app = open_page()
    search(app, "test_resnet", ["timm"])
    app.multiselect[-1].set_value(["timm:test_resnet"]).run()
    app.text_input[-1].set_value("3x24x24")
    button(app, "Add 1 picked").click().run()
    manifest = visitor_manifest(offline)

    app.radio(key="refs_choice").set_value("a folder").run()
    outside = write_pngs(tmp_path / "outside", 2)
    app.text_input(key="refs_folder").set_value(str(outside))
    button(app, "Use this folder").click().run()
    assert "outside the folders this server opens" in app.error[0].value
    assert WorkingZoo.open(manifest).references == str(reference_uploads.builtin_references().resolve())

    app.radio(key="refs_choice").set_value("upload").run()
    app.file_uploader(key="refs_upload").set_value([("nothing.zip", zip_bytes({"a.txt": b"x"}), "application/zip")])
    app.run()
    button(app, "Use the uploaded images").click().run()
    assert "nothing.zip holds no image files" in app.error[0].value and len(app.error) == 1
    members = {f"imgs/{i}.png": png_bytes(i) for i in range(4)}
    app.file_uploader(key="refs_upload").set_value([("refs.zip", zip_bytes(members), "application/zip")])
    app.run()
    button(app, "Use the uploaded images").click().run()
    assert not app.exception and "4 uploaded images, converted to 3x24x24" in app.success[0].value
    references = Zoo.open(manifest).manifest.references
    assert references.is_relative_to(manifest.parent)
    assert load_reference_folder(references, InputSpace(3, 24, 24)).images.shape == (4, 3, 24, 24)

    search(app, "alpha", ["folder"])
    app.text_input(key="catalogue_folder").set_value(str(outside)).run()
    assert "model folder" in app.error[0].value and "outside the folders this server opens" in app.error[0].value
