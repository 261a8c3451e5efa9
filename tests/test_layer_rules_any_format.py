"""Layer rules (the channel-max target, CKA's features) on TorchScript and torch.export files, not only on eager
modules: the same function, the same numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import make_cnn, save_torchscript, write_pngs

from gifviz import FieldConfig, compute_field
from gifviz.cli import main
from gifviz.errors import ConfigError
from gifviz.hub import Zoo
from gifviz.hub.architectures import build_architecture
from gifviz.methods.peers.evaluation import model_features
from gifviz.refs import load_reference_folder

LAYER = FieldConfig(steps=3, target="channel_max", layer="backbone")


def eager(seed: int, arch: str = "cnn_small") -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_architecture(arch, 10, arch).eval()


def export(model: torch.nn.Module, path) -> None:
    batch = torch.export.Dim("batch", max=4096)
    program = torch.export.export(model, (torch.rand(2, 3, 32, 32),), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(path))


@pytest.fixture
def zoo(tmp_path):
    """One network as an eager-equivalent safetensors entry, a TorchScript file and a trusted .pt2 program."""
    from safetensors.torch import save_file

    model = eager(0, "cnn_deep")
    save_file(model.state_dict(), str(tmp_path / "m.safetensors"))
    save_torchscript(model, tmp_path / "m.pt")
    export(model, tmp_path / "m.pt2")
    write_pngs(tmp_path / "refs", 6, size=32, channels=3)
    (tmp_path / "zoo.toml").write_text(
        'name = "formats"\nreferences = "refs"\n[input]\nchannels = 3\nsize = [32, 32]\n'
        '[[models]]\nid = "weights"\nfile = "m.safetensors"\narch = "cnn_deep"\nnum_classes = 10\n'
        '[[models]]\nid = "script"\nfile = "m.pt"\n'
        '[[models]]\nid = "export"\nfile = "m.pt2"\ntrusted = true\n'
    )
    return Zoo.open(tmp_path / "zoo.toml")


def test_a_layer_field_is_the_same_for_every_file_format(zoo):
    references = load_reference_folder(zoo.manifest.references, zoo.space)
    fields = {
        model_id: compute_field(model.module, references, LAYER, model.preprocess)
        for model_id in ("weights", "script", "export")
        for model in [zoo.load(model_id)]
    }
    for model_id in ("script", "export"):
        torch.testing.assert_close(fields[model_id].values, fields["weights"].values, rtol=1e-4, atol=1e-6)


def test_cka_features_are_the_same_for_every_file_format(zoo):
    images = load_reference_folder(zoo.manifest.references, zoo.space).images
    expected = model_features(zoo.load("weights"), images)
    for model_id in ("script", "export"):
        torch.testing.assert_close(model_features(zoo.load(model_id), images), expected, rtol=1e-5, atol=1e-6)


def test_a_torchscript_forward_that_is_not_a_chain_says_why_it_cannot_be_hooked(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(make_cnn(0))  # head(features(x).flatten(1)): not a plain chain
    with pytest.raises(ConfigError, match="not a plain chain of its submodules"):
        compute_field(scripted, torch.rand(2, 1, 16, 16), FieldConfig(steps=2, target="channel_max", layer="features"))


def test_bench_tasks_runs_on_a_torchscript_zoo_with_the_channel_max_rule_and_cka(tmp_path, capsys):
    tasks = ("digit", "parity", "colour")
    lines = ['name = "tasks"', 'references = "refs"', "[input]", "channels = 3", "size = [32, 32]", "[data]",
             'transferability = "t.csv"']  # fmt: skip
    for seed, task in enumerate(tasks):
        save_torchscript(eager(seed), tmp_path / f"{task}.pt")
        lines += ["[[models]]", f'id = "{task}"', f'file = "{task}.pt"', f'task = "{task}"', 'relation = "task"']
    (tmp_path / "zoo.toml").write_text("\n".join(lines) + "\n")
    matrix = {"digit": "1.0,0.8,0.2", "parity": "0.7,1.0,0.3", "colour": "0.1,0.4,1.0"}  # no ties: Spearman defined
    rows = [",".join(["task", *tasks])] + [f"{task},{matrix[task]}" for task in tasks]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    write_pngs(tmp_path / "refs", 8, size=32, channels=3)
    out = tmp_path / "out"
    code = main(["bench", "tasks", str(tmp_path / "zoo.toml"), "--methods", "modelgif,cka", "--n", "8",
                 "--sweep", "8", "--resamples", "0", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    import pandas as pd

    table = pd.read_csv(out / "tasks.csv")
    assert set(table["method"]) == {"modelgif", "cka"}
    assert table["note"].isna().all() and np.isfinite(table["value"]).all()
