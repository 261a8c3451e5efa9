"""The model hub: every source loads a small real model made here; digests; and each bad input, one clear error."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from conftest import make_cnn, save_torchscript, write_pngs
from safetensors.torch import save_file

from gifviz import FieldConfig
from gifviz.cli import main
from gifviz.errors import ManifestError, ModelLoadError, ModelOutputError
from gifviz.hub import Zoo, load_manifest
from gifviz.hub.architectures import build_architecture
from gifviz.hub.digest import model_digest
from gifviz.hub.sources import weights_file
from gifviz.pipeline import check_model
from gifviz.refs import load_reference_folder

RGB32 = "[input]\nchannels = 3\nsize = [32, 32]\n"


def entry(model_id: str, **keys: object) -> str:
    """One [[models]] table; JSON strings and numbers are valid TOML values."""
    lines = ["[[models]]", f'id = "{model_id}"', *(f"{key} = {json.dumps(value)}" for key, value in keys.items())]
    return "\n".join(lines) + "\n"


def write_manifest(folder: Path, *entries: str, header: str = RGB32) -> Path:
    path = folder / "zoo.toml"
    path.write_text('name = "mixed"\n' + header + "".join(entries))
    return path


@pytest.fixture
def cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_architecture("cnn_small", 10, "cnn").eval()


def export_program(model: torch.nn.Module, path: Path) -> Path:
    program = torch.export.export(
        model, (torch.rand(2, 3, 32, 32),), dynamic_shapes={"x": {0: torch.export.Dim("batch", max=8192)}}
    )
    torch.export.save(program, str(path))
    return path


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def cache_torchvision_weights(name: str, member: str) -> tuple[Path, torch.nn.Module]:
    """Put a (random) state dict where torchvision's normal cache looks for the named weights."""
    weights = torchvision.models.get_model_weights(name)[member]
    torch.manual_seed(1)
    model = torchvision.models.get_model(name, weights=None, num_classes=len(weights.meta["categories"]))
    path = weights_file(weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path, model.eval()


def test_mixed_manifest_loads_in_one_call_and_digests_agree(tmp_path, cnn, torch_home):
    save_torchscript(cnn, tmp_path / "cnn.pt")
    export_program(cnn, tmp_path / "cnn.pt2")
    save_file(cnn.state_dict(), str(tmp_path / "cnn.safetensors"))
    torch.save(cnn.state_dict(), tmp_path / "cnn_state.pth")
    _, mobilenet = cache_torchvision_weights("mobilenet_v3_small", "IMAGENET1K_V1")
    manifest = write_manifest(
        tmp_path,
        entry("script", file="cnn.pt", task="digit"),
        entry("exported", file="cnn.pt2", task="digit", trusted=True),
        entry("safe", file="cnn.safetensors", arch="cnn_small", num_classes=10, task="digit"),
        entry("state", file="cnn_state.pth", arch="cnn_small", num_classes=10),
        entry("mobile", source="torchvision:mobilenet_v3_small@IMAGENET1K_V1", task="imagenet"),
    )
    models = {m.id: m for m in Zoo.open(manifest).load_all()}
    assert set(models) == {"script", "exported", "safe", "state", "mobile"}
    original = model_digest(cnn)
    # The same weights give the same digest whatever the file format ...
    assert models["safe"].digest == models["state"].digest == models["script"].digest == original
    # ... and the same function.
    x = torch.rand(3, 3, 32, 32)
    for name in ("script", "exported", "safe", "state"):
        torch.testing.assert_close(models[name].module(x), cnn(x))
    mobile = models["mobile"]
    assert mobile.arch == "mobilenet_v3_small" and len(mobile.classes) == 1000
    assert mobile.preprocess.size == (224, 224) and mobile.preprocess.mean == (0.485, 0.456, 0.406)
    assert mobile.num_params == sum(p.numel() for p in mobilenet.parameters())
    torch.testing.assert_close(mobile.module(mobile.preprocess(x)), mobilenet(mobile.preprocess(x)))


def test_digest_changes_when_one_weight_changes(cnn):
    before = model_digest(cnn)
    with torch.no_grad():
        cnn.head.weight[0, 0] += 1e-3
    assert model_digest(cnn) != before
    assert model_digest(cnn) == model_digest(cnn)


def test_local_torch_hub_directory(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(
        "dependencies = ['torch']\n"
        "from gifviz.hub.architectures import build_architecture\n"
        "def tiny(num_classes=10):\n"
        "    return build_architecture('resnet_tiny', num_classes, 'tiny')\n"
    )
    manifest = write_manifest(tmp_path, entry("hubbed", source="hub:repo:tiny", num_classes=7))
    model = Zoo.open(manifest).load("hubbed")
    assert model.module(torch.rand(2, 3, 32, 32)).shape == (2, 7)


def test_builtin_source(tmp_path, monkeypatch, cnn):
    zoo_dir = tmp_path / "builtin" / "mini"
    zoo_dir.mkdir(parents=True)
    save_file(cnn.state_dict(), str(zoo_dir / "a.safetensors"))
    write_manifest(
        zoo_dir,
        entry(
            "a",
            file="a.safetensors",
            arch="cnn_small",
            num_classes=10,
            task="digit",
            parent="root",
            relation="finetune",
        ),
    )
    monkeypatch.setenv("GIFVIZ_BUILTIN_ZOO", str(tmp_path / "builtin"))
    manifest = write_manifest(tmp_path, entry("mine", source="builtin:mini/a"))
    model = Zoo.open(manifest).load("mine")
    assert model.id == "mine" and model.spec.relation == "finetune" and model.digest == model_digest(cnn)
    missing = write_manifest(tmp_path, entry("nope", source="builtin:mini/zzz"))
    with pytest.raises(ModelLoadError, match="has no model 'zzz'"):
        Zoo.open(missing).load("nope")


def test_uncached_torchvision_weights_name_the_file_and_folder(tmp_path, torch_home):
    manifest = write_manifest(tmp_path, entry("r18", source="torchvision:resnet18@IMAGENET1K_V1"))
    with pytest.raises(ModelLoadError) as caught:
        Zoo.open(manifest).load("r18")
    message = str(caught.value)
    assert "resnet18-f37072fd.pth" in message and str(torch_home / "hub" / "checkpoints") in message


def test_pickle_with_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"weight": Payload()}, path)
    assert path.stat().st_size > 0
    manifest = write_manifest(tmp_path, entry("evil", file="evil.pt", arch="cnn_small", num_classes=10))
    with pytest.raises(ModelLoadError, match="never unpickles code") as caught:
        Zoo.open(manifest).load("evil")
    assert "weights_only" in str(caught.value)
    assert not marker.exists()


def test_plain_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "pwned2"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "legacy.pth"
    with path.open("wb") as handle:
        pickle.dump(Payload(), handle)
    manifest = write_manifest(tmp_path, entry("legacy", file="legacy.pth", arch="cnn_small", num_classes=10))
    with pytest.raises(ModelLoadError):
        Zoo.open(manifest).load("legacy")
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors", ".pt2"])
def test_truncated_files(tmp_path, cnn, suffix):
    path = tmp_path / f"cut{suffix}"
    if suffix == ".pth":
        torch.save(cnn.state_dict(), path)
    elif suffix == ".safetensors":
        save_file(cnn.state_dict(), str(path))
    else:
        export_program(cnn, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    manifest = write_manifest(tmp_path, entry("cut", file=path.name, arch="cnn_small", num_classes=10, trusted=True))
    with pytest.raises(ModelLoadError, match=r"'cut'.*cut" + suffix.replace(".", r"\.")):
        Zoo.open(manifest).load("cut")


def test_state_dict_that_does_not_fit(tmp_path, cnn):
    state = dict(cnn.state_dict())
    state.pop("head.bias")
    state["extra.weight"] = torch.zeros(3)
    state["head.weight"] = torch.zeros(5, 64)
    save_file(state, str(tmp_path / "bad.safetensors"))
    manifest = write_manifest(tmp_path, entry("bad", file="bad.safetensors", arch="cnn_small", num_classes=10))
    with pytest.raises(ModelLoadError) as caught:
        Zoo.open(manifest).load("bad")
    message = str(caught.value)
    assert "missing keys [head.bias]" in message and "unexpected keys [extra.weight]" in message
    assert "head.weight (5, 64) vs (10, 64)" in message


def test_unknown_architecture_suggests_known_ones(tmp_path, cnn):
    save_file(cnn.state_dict(), str(tmp_path / "w.safetensors"))
    manifest = write_manifest(tmp_path, entry("w", file="w.safetensors", arch="cnn_smal", num_classes=10))
    with pytest.raises(ModelLoadError, match="unknown architecture 'cnn_smal'; did you mean cnn_small"):
        Zoo.open(manifest).load("w")


def test_weights_without_architecture(tmp_path, cnn):
    save_file(cnn.state_dict(), str(tmp_path / "w.safetensors"))
    manifest = write_manifest(tmp_path, entry("w", file="w.safetensors"))
    with pytest.raises(ModelLoadError, match="add arch"):
        Zoo.open(manifest).load("w")


def test_input_channels_differ_from_the_space(tmp_path):
    save_torchscript(make_cnn(0, channels=1, size=32), tmp_path / "gray.pt")
    manifest = write_manifest(tmp_path, entry("gray", file="gray.pt"))
    with pytest.raises(ModelLoadError, match=r"'gray'.*3 channel\(s\)"):
        Zoo.open(manifest).load("gray")


def test_static_batch_export_gets_a_hint(tmp_path, cnn):
    program = torch.export.export(cnn, (torch.rand(2, 3, 32, 32),))
    torch.export.save(program, str(tmp_path / "static.pt2"))
    manifest = write_manifest(tmp_path, entry("static", file="static.pt2", trusted=True))
    with pytest.raises(ModelLoadError, match="dynamic_shapes"):
        Zoo.open(manifest).load("static")


class NaNHead(torch.nn.Module):
    def forward(self, x):
        return torch.log(x.flatten(1)[:, :10] - 2.0)  # log of a negative number: NaN for inputs in [0, 1]


def test_nan_model_is_reported_and_the_rest_of_the_zoo_still_works(tmp_path, cnn):
    save_torchscript(NaNHead(), tmp_path / "nan.pt")
    save_torchscript(cnn, tmp_path / "good.pt")
    save_torchscript(cnn, tmp_path / "cut.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "cut.pt").read_bytes()[:200])
    manifest = write_manifest(
        tmp_path, entry("nan", file="nan.pt"), entry("good", file="good.pt"), entry("cut", file="cut.pt")
    )
    zoo = Zoo.open(manifest)
    refs = load_reference_folder(write_pngs(tmp_path / "refs", 3, size=32, channels=3), zoo.space)
    with pytest.raises(ModelOutputError, match="NaN"):
        check_model(zoo, "nan", refs, FieldConfig(steps=2))
    loaded, errors = zoo.load_available()
    assert [m.id for m in loaded] == ["nan", "good"] and list(errors) == ["cut"]
    out = tmp_path / "d.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gifviz",
            "distances",
            str(manifest),
            "--refs",
            str(tmp_path / "refs"),
            "--steps",
            "2",
            "--out",
            str(out),
            "--skip-bad",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped: model 'nan'" in result.stderr and "skipped: model 'cut'" in result.stderr
    assert out.read_text().splitlines()[0] == "model,good"


def test_hub_ls_prints_every_column(tmp_path, cnn, torch_home, capsys):
    save_torchscript(cnn, tmp_path / "cnn.pt")
    export_program(cnn, tmp_path / "cnn.pt2")
    save_file(cnn.state_dict(), str(tmp_path / "cnn.safetensors"))
    cache_torchvision_weights("mobilenet_v3_small", "IMAGENET1K_V1")
    manifest = write_manifest(
        tmp_path,
        entry("script", file="cnn.pt", task="digit", relation="source"),
        entry("exported", file="cnn.pt2", task="digit", parent="script", relation="copy", trusted=True),
        entry("safe", file="cnn.safetensors", arch="cnn_small", num_classes=10, task="digit"),
        entry("mobile", source="torchvision:mobilenet_v3_small@IMAGENET1K_V1", task="imagenet"),
    )
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    result = subprocess.run(
        [sys.executable, "-m", "gifviz", "hub", "ls", str(manifest)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "source", "arch", "params", "task", "tags"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert "torchvision:mobilenet_v3_small@IMAGENET1K_V1" in rows["mobile"] and "2,542,856" in rows["mobile"]
    assert "cnn_small" in rows["safe"] and "24,346" in rows["safe"] and "digit" in rows["safe"]
    assert "relation=copy" in rows["exported"]
    # the console script ran once above; the other actions run in this process (TORCH_HOME is set here too)
    capsys.readouterr()
    assert main(["hub", "show", str(manifest), "safe"]) == 0
    show = capsys.readouterr().out
    assert '"digest"' in show and '"params": 24346' in show
    assert main(["hub", "ls", str(manifest), "--task", "digit"]) == 0
    only_digit = capsys.readouterr().out
    assert "mobile" not in only_digit and "safe" in only_digit


def test_manifest_paths_are_relative_to_the_manifest(tmp_path, cnn):
    (tmp_path / "sub").mkdir()
    save_torchscript(cnn, tmp_path / "sub" / "m.pt")
    manifest = write_manifest(tmp_path, entry("m", file="sub/m.pt"))
    assert load_manifest(manifest).spec("m").path == (tmp_path / "sub" / "m.pt").resolve()


def test_preprocess_resizes_with_the_interpolation_its_weights_were_trained_with():
    from gifviz.errors import ConfigError
    from gifviz.hub.timm_models import timm_preprocess
    from gifviz.space import Preprocess

    x = torch.rand(1, 3, 16, 16)
    bilinear, bicubic = Preprocess(size=(40, 40)), Preprocess(size=(40, 40), interpolation="bicubic")
    assert not torch.allclose(bilinear(x), bicubic(x))
    expected = torch.nn.functional.interpolate(x, size=(40, 40), mode="bicubic", align_corners=False)
    assert torch.allclose(bicubic(x), expected)
    # The default writes no key, so digests and store keys of existing models do not change.
    assert "interpolation" not in bilinear.to_dict()
    assert Preprocess.from_dict(bicubic.to_dict()) == bicubic
    with pytest.raises(ConfigError, match="interpolation 'area'"):
        Preprocess(interpolation="area")
    config = {"input_size": (3, 32, 32), "interpolation": "bicubic", "mean": (0.5,) * 3, "std": (0.5,) * 3}
    preprocess, note = timm_preprocess(config)
    assert preprocess.interpolation == "bicubic" and "bicubic" in note and "here" not in note


def test_an_exported_program_loads_only_when_its_entry_vouches_for_it(tmp_path, cnn):
    """torch.export.load unpickles with full pickle: a .pt2 from someone else could run code when loaded."""
    export_program(cnn, tmp_path / "cnn.pt2")
    manifest = write_manifest(tmp_path, entry("exported", file="cnn.pt2"))
    with pytest.raises(ModelLoadError, match="add trusted = true"):
        Zoo.open(manifest).load("exported")
    with pytest.raises(ManifestError, match="'trusted' must be true or false"):
        Zoo.open(write_manifest(tmp_path, entry("exported", file="cnn.pt2", trusted="yes")))
    trusted = write_manifest(tmp_path, entry("exported", file="cnn.pt2", trusted=True))
    assert Zoo.open(trusted).load("exported").module is not None
