"""hf: and timm: sources, offline: models the tests make and lay out as huggingface_hub's cache does."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from gifviz.errors import GifvizError, ManifestError, ModelLoadError
from gifviz.hub import Zoo, load_manifest
from gifviz.hub.digest import model_digest

timm = pytest.importorskip("timm")
from safetensors.torch import save_file  # noqa: E402
from timm.models import save_for_hf  # noqa: E402

REVISION = "0123456789abcdef0123456789abcdef01234567"
TIMM_NAME = "test_resnet.r160_in1k"  # timm's own tiny test model (0.5M parameters, 160 px)


def put_hf_repo(cache: Path, repo_id: str, files: dict[str, bytes], revision: str = REVISION) -> Path:
    """Lay out ``files`` as huggingface_hub caches a repo: content-addressed blobs, a snapshot of relative symlinks
    named by the commit, and ``refs/main`` naming that commit. Returns the snapshot folder."""
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = root / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (root / "blobs").mkdir(exist_ok=True)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return snapshot


def timm_repo_files(tmp_path: Path, model: torch.nn.Module, **config) -> dict[str, bytes]:
    """config.json + model.safetensors of ``model`` in timm's Hub format (timm's own save_for_hf)."""
    folder = tmp_path / "export"
    save_for_hf(model, str(folder), safe_serialization=True, **config)
    return {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty Hugging Face cache, offline, that gifviz (and huggingface_hub) use."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def tiny_timm(classes: int = 3, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return timm.create_model("test_resnet", num_classes=classes).eval()


def write_manifest(folder: Path, entries: str, size: int = 32) -> Path:
    path = folder / "zoo.toml"
    path.write_text(f'name = "hub15"\n[input]\nchannels = 3\nsize = [{size}, {size}]\n{entries}')
    return path


@pytest.fixture
def timm_repo(tmp_path: Path, hf_cache: Path) -> tuple[torch.nn.Module, Path]:
    """A 3-class timm model cached as hf:org/tiny, with a 48-px data config and label names."""
    model = tiny_timm()
    files = timm_repo_files(
        tmp_path,
        model,
        model_config={"label_names": ["cat", "dog", "fox"]},
        data_config={"input_size": (3, 48, 48), "mean": (0.1, 0.2, 0.3), "std": (0.4, 0.5, 0.6)},
    )
    put_hf_repo(hf_cache, "org/tiny", files)
    return model, hf_cache


def test_an_hf_repo_in_timm_format_loads_offline_with_its_own_preprocess_and_classes(timm_repo, tmp_path):
    model, _ = timm_repo
    zoo = Zoo.open(write_manifest(tmp_path, '[[models]]\nid = "tiny"\nsource = "hf:org/tiny"\n'))
    loaded = zoo.load("tiny")
    assert loaded.preprocess.size == (48, 48)
    assert loaded.preprocess.mean == pytest.approx((0.1, 0.2, 0.3))
    assert loaded.preprocess.std == pytest.approx((0.4, 0.5, 0.6))
    assert loaded.classes == ("cat", "dog", "fox") and loaded.arch == "test_resnet"
    assert loaded.digest == model_digest(model, loaded.preprocess)  # same weights as the state dict it came from
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.module(loaded.preprocess(x)), model(loaded.preprocess(x)), atol=1e-6)
    assert "hf:org/tiny" in loaded.describe()["description"]


def test_an_hf_revision_pins_the_snapshot(timm_repo, tmp_path):
    zoo = Zoo.open(write_manifest(tmp_path, f'[[models]]\nid = "t"\nsource = "hf:org/tiny@{REVISION}"\n'))
    assert zoo.load("t").classes == ("cat", "dog", "fox")
    other = Zoo.open(write_manifest(tmp_path, '[[models]]\nid = "t"\nsource = "hf:org/tiny@deadbeef"\n'))
    with pytest.raises(ModelLoadError, match="hf download org/tiny --revision deadbeef"):
        other.load("t")


def test_a_timm_name_loads_pretrained_weights_from_the_hf_cache(tmp_path, hf_cache):
    torch.manual_seed(1)
    original = timm.create_model(TIMM_NAME).eval()
    save_file(original.state_dict(), str(tmp_path / "w.safetensors"))
    put_hf_repo(hf_cache, f"timm/{TIMM_NAME}", {"model.safetensors": (tmp_path / "w.safetensors").read_bytes()})
    zoo = Zoo.open(write_manifest(tmp_path, '[[models]]\nid = "a"\nsource = "timm:test_resnet"\n'))
    loaded = zoo.load("a")  # the bare name resolves to its default tag, as timm resolves it
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.module(x), original(x), atol=1e-6)
    assert loaded.preprocess.size == (160, 160)  # timm's data config for this name
    assert loaded.digest == model_digest(original, loaded.preprocess)
    assert len(loaded.classes) == 1000 and loaded.classes[1].startswith("goldfish")  # ImageNet's, from timm


def test_pretrained_false_builds_a_random_architecture_offline_and_says_so(tmp_path, hf_cache):
    manifest = write_manifest(tmp_path, '[[models]]\nid = "r"\nsource = "timm:test_vit"\npretrained = false\n')
    described = Zoo.open(manifest).load("r").describe()
    assert "random init" in described["description"] and described["pretrained"] is False
    assert described["preprocess"]["size"] == [160, 160]


def test_a_plain_repo_with_an_arch_in_the_manifest_loads(tmp_path, hf_cache):
    from conftest import make_cnn

    model = make_cnn(3, channels=3, size=32)
    save_file(model.state_dict(), str(tmp_path / "cnn.safetensors"))
    put_hf_repo(hf_cache, "me/cnn", {"model.safetensors": (tmp_path / "cnn.safetensors").read_bytes()})
    from gifviz.hub.architectures import register_architecture

    register_architecture("hub15-cnn")(lambda num_classes=10: type(model)(channels=3, classes=num_classes, size=32))
    zoo = Zoo.open(write_manifest(tmp_path, '[[models]]\nid = "c"\nsource = "hf:me/cnn"\narch = "hub15-cnn"\n'))
    assert zoo.load("c").digest == model_digest(model)


def one_line_error(tmp_path: Path, entry: str) -> str:
    zoo = Zoo.open(write_manifest(tmp_path, "[[models]]\n" + entry))
    with pytest.raises(GifvizError) as caught:
        zoo.load(zoo.ids[0])
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_uncached_repo_names_the_repo_the_file_and_the_fetch_command(tmp_path, hf_cache):
    message = one_line_error(tmp_path, 'id = "u"\nsource = "hf:timm/resnet18.a1_in1k"\n')
    assert "hf:timm/resnet18.a1_in1k" in message and "config.json" in message
    assert "`hf download timm/resnet18.a1_in1k`" in message and "HF_HUB_OFFLINE" in message


def test_uncached_timm_weights_name_the_repo_and_the_fetch_command(tmp_path, hf_cache):
    message = one_line_error(tmp_path, 'id = "u"\nsource = "timm:test_vit.r160_in1k"\n')
    assert "model.safetensors" in message and "`hf download timm/test_vit.r160_in1k`" in message


def test_an_unknown_timm_name_suggests_close_names(tmp_path, hf_cache):
    message = one_line_error(tmp_path, 'id = "u"\nsource = "timm:test_resnt"\n')
    assert "test_resnt" in message and "did you mean test_resnet" in message


def test_an_unknown_timm_tag_lists_the_known_tags(tmp_path, hf_cache):
    message = one_line_error(tmp_path, 'id = "u"\nsource = "timm:test_resnet.nope"\n')
    assert "r160_in1k" in message


def test_weights_that_do_not_fit_the_architecture_are_one_line(tmp_path, hf_cache):
    files = timm_repo_files(tmp_path, tiny_timm(classes=3))
    config = json.loads(files["config.json"])
    config["num_classes"] = 5  # the config promises a 5-class head; the weights hold a 3-class one
    put_hf_repo(hf_cache, "org/bad", {**files, "config.json": json.dumps(config).encode()})
    message = one_line_error(tmp_path, 'id = "b"\nsource = "hf:org/bad"\n')
    assert "does not fit architecture 'test_resnet'" in message and "fc.weight" in message


def test_a_repo_without_config_or_arch_says_what_to_add(tmp_path, hf_cache):
    put_hf_repo(
        hf_cache, "org/weights", {"model.safetensors": timm_repo_files(tmp_path, tiny_timm())["model.safetensors"]}
    )
    message = one_line_error(tmp_path, 'id = "w"\nsource = "hf:org/weights"\n')
    assert "no config.json" in message and 'arch = "<name>"' in message


def test_a_config_without_architecture_is_one_line(tmp_path, hf_cache):
    files = timm_repo_files(tmp_path, tiny_timm())
    put_hf_repo(hf_cache, "org/noarch", {**files, "config.json": b'{"num_classes": 3}'})
    assert "names no 'architecture'" in one_line_error(tmp_path, 'id = "n"\nsource = "hf:org/noarch"\n')


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('source = "hf:not a repo"', "hf:<org>/<repo>"),
        ('source = "timm:"', "timm:<name>"),
        ('source = "timm:resnet18"\npretrained = "no"', "true or false"),
        ('source = "torchvision:resnet18"\npretrained = false', "timm: sources only"),
    ],
)
def test_malformed_hf_and_timm_entries_are_manifest_errors(tmp_path, entry, expected):
    with pytest.raises(ManifestError, match=expected.replace("<", ".").replace(">", ".")):
        load_manifest(write_manifest(tmp_path, f'[[models]]\nid = "m"\n{entry}\n'))


def test_skip_bad_leaves_out_an_uncached_repo(timm_repo, tmp_path):
    entries = '[[models]]\nid = "tiny"\nsource = "hf:org/tiny"\n[[models]]\nid = "gone"\nsource = "hf:org/gone"\n'
    loaded, errors = Zoo.open(write_manifest(tmp_path, entries)).load_available()
    assert [model.id for model in loaded] == ["tiny"] and "hf download org/gone" in str(errors["gone"])


def test_cli_hub_show_prints_the_repo_preprocess_and_an_uncached_repo_exits_2(timm_repo, tmp_path, capsys):
    from gifviz.cli import main

    manifest = write_manifest(tmp_path, '[[models]]\nid = "tiny"\nsource = "hf:org/tiny"\n')
    assert main(["hub", "show", str(manifest), "tiny"]) == 0
    assert json.loads(capsys.readouterr().out)["preprocess"]["size"] == [48, 48]
    missing = write_manifest(tmp_path, '[[models]]\nid = "x"\nsource = "hf:org/missing"\n')
    assert main(["hub", "show", str(missing), "x"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gifviz: error: ") and error.count("\n") == 1 and "hf download org/missing" in error


def test_out_may_not_overwrite_a_cached_hub_file(timm_repo, tmp_path, capsys):
    from gifviz.cli import main

    _, cache = timm_repo
    manifest = write_manifest(tmp_path, '[[models]]\nid = "tiny"\nsource = "hf:org/tiny"\n')
    weights = next(cache.glob("models--org--tiny/snapshots/*/model.safetensors"))
    before = weights.read_bytes()
    refs = tmp_path / "refs"
    refs.mkdir()
    assert main(["field", str(manifest), "tiny", "--refs", str(refs), "--out", str(weights), "--quiet"]) == 2
    assert "model.safetensors of model 'tiny'" in capsys.readouterr().err and weights.read_bytes() == before
