"""Layer rules (the channel-max target, CKA's features) on TorchScript and torch.export files, not only on eager
modules: the same function, the same numbers."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import make_cnn, save_torchscript, write_pngs

from gifviz import FieldConfig, compute_field
from gifviz.cli import main
from gifviz.config import LAYER_READING, PENULTIMATE
from gifviz.errors import ConfigError
from gifviz.hub import Zoo
from gifviz.hub.architectures import build_architecture
from gifviz.methods.peers.evaluation import model_features
from gifviz.refs import load_reference_folder
from gifviz.torch_helpers import layer_output, resolve_layer

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


class Residual(torch.nn.Module):
    """relu(bn(conv(x)) + x), the sum in place: a forward that is no chain of submodule calls, and a layer (bn) whose
    output is changed in place after it ran."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(width, width, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.conv(x))
        out += x
        return torch.relu(out)


class Branchy(torch.nn.Module):
    """What TorchScript files hold besides chains: a helper method, a layer called twice on different inputs,
    residual blocks, a ModuleList iterated and indexed, pooling by arithmetic, a default argument, and layers that
    only run in a loop or compute nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.mix = torch.nn.Conv2d(6, 6, 1)
        self.blocks = torch.nn.Sequential(Residual(6), torch.nn.ReLU(), Residual(6))
        self.extra = torch.nn.ModuleList([torch.nn.Conv2d(6, 6, 1), torch.nn.Conv2d(6, 6, 1)])
        self.looped = torch.nn.Tanh()
        self.nothing = torch.nn.Identity()
        self.fc = torch.nn.Linear(6, 10)

    def forward(self, x: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
        return self._features(x).mean((2, 3)).mul(scale).matmul(self.fc.weight.t()) + self.fc.bias

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mix(torch.tanh(self.mix(torch.relu(self.stem(x)))) * 2)  # a hook sees the last call
        x = self.blocks(x)
        for layer in self.extra:
            x = x + layer(x)
        x = self.extra[1](x)
        for _ in range(2):
            x = self.looped(x)
        return self.nothing(x)


class Clamped(torch.nn.Module):
    """A layer that changes its own output in place after making it."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y.clamp_(min=0.0)
        return y


class Paired(torch.nn.Module):
    """A layer that returns a tuple (a forward hook reads its first item)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(width, width, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return y, y.mean((2, 3))


class Varied(torch.nn.Module):
    """Blocks with submodules in a ModuleList, an in-place change inside a layer, a tuple-valued layer, and a layer
    behind a branch on a default argument (``if mask is None``, as timm's attention has)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.blocks = torch.nn.ModuleList([Residual(6), Residual(6)])
        self.clamp, self.pair, self.gate = Clamped(6), Paired(6), torch.nn.Conv2d(6, 6, 1)
        self.head = torch.nn.Linear(6, 10)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x, _ = self.pair(self.clamp(x) - 0.5)
        x = self.gate(x) if mask is None else x * mask
        return self.head(x.mean((2, 3)))


def scripted_copy(model: torch.nn.Module, tmp_path, traced: bool = False, size: tuple = (1, 16, 16)):
    """``model`` saved as a TorchScript file (scripted, or traced) and loaded back, as a zoo holds it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.trace(model, torch.rand(2, *size)) if traced else torch.jit.script(model)
        torch.jit.save(compiled, str(tmp_path / "m.pt"))
        return torch.jit.load(str(tmp_path / "m.pt"))


def branchy() -> Branchy:
    torch.manual_seed(0)
    model = Branchy().eval()
    with torch.no_grad():  # batch norm statistics that are not the identity, so its layer differs from the conv's
        for block in (model.blocks[0], model.blocks[2]):
            block.bn.running_mean.uniform_(-0.5, 0.5)
            block.bn.running_var.uniform_(0.5, 2.0)
    return model


def varied() -> Varied:
    torch.manual_seed(1)
    return Varied().eval()


BRANCHY_LAYERS = ["stem", "mix", "blocks", "blocks.0", "blocks.2.conv", "blocks.2.bn", "extra.1"]
VARIED_LAYERS = ["blocks.0", "blocks.1.conv", "clamp", "pair", "gate"]


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize(
    ("make", "layer"), [(branchy, layer) for layer in BRANCHY_LAYERS] + [(varied, layer) for layer in VARIED_LAYERS]
)
def test_any_layer_of_a_torchscript_forward_gives_the_eager_field(tmp_path, make, layer, traced):
    model = make()
    config = FieldConfig(steps=3, target="channel_max", layer=layer)
    inputs = torch.rand(4, 1, 16, 16)
    expected = compute_field(model, inputs, config)
    got = compute_field(scripted_copy(model, tmp_path, traced), inputs, config)
    assert float(expected.values.abs().max()) > 0
    torch.testing.assert_close(got.values, expected.values, rtol=1e-4, atol=1e-6)


def test_a_layer_changed_in_place_after_it_ran_reads_its_own_output():
    """The hook copies the layer's output: ``out += x`` after the batch norm must not change what was read."""
    model = branchy()
    inputs = torch.rand(3, 1, 16, 16)
    with layer_output(model, "blocks.0.bn") as read:
        model(inputs)
        bn = read(None)
    with layer_output(model, "blocks.0.conv") as read:
        model(inputs)
        conv = read(None)
    torch.testing.assert_close(bn, model.blocks[0].bn(conv))


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("layer", ["layer1.0.bn2", "layer2", "avgpool"])
def test_torchvision_resnet_layers_read_through_its_helper_method(tmp_path, layer, traced):
    """torchvision's ResNet runs ``_forward_impl``, and its blocks add the shortcut in place after ``bn2``."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    images = torch.rand(3, 3, 32, 32)
    script = scripted_copy(model, tmp_path, traced, size=(3, 32, 32))
    expected = model_features(SimpleNamespace(id="eager", module=model, preprocess=None), images, layer)
    got = model_features(SimpleNamespace(id="script", module=script, preprocess=None), images, layer)
    torch.testing.assert_close(got, expected)


def test_cka_features_of_a_torchscript_forward_that_is_no_chain_are_the_eager_ones(tmp_path):
    model = make_cnn(0)  # head(features(x).flatten(1)): the penultimate module is features
    images = torch.rand(5, 1, 16, 16)
    script = scripted_copy(model, tmp_path)
    # model_features reads a loaded model's id, module and preprocess only
    expected = model_features(SimpleNamespace(id="eager", module=model, preprocess=None), images)
    assert expected.shape == (5, 4 * 8 * 8)
    got = model_features(SimpleNamespace(id="script", module=script, preprocess=None), images)
    torch.testing.assert_close(got, expected)


def test_a_torchscript_layer_that_cannot_be_read_says_why(tmp_path):
    script = scripted_copy(branchy(), tmp_path)
    inputs = torch.rand(2, 1, 16, 16)

    def field(layer: str) -> None:
        compute_field(script, inputs, FieldConfig(steps=2, target="channel_max", layer=layer))

    with pytest.raises(ConfigError, match="'looped' of this TorchScript model: its operations run only inside a loop"):
        field("looped")
    with pytest.raises(ConfigError, match="'nothing' of this TorchScript model: it computes nothing there"):
        field("nothing")
    with pytest.raises(
        ConfigError, match=r"'blocks\.7' is not a module of this model; some of its modules: \['blocks\.0'"
    ):
        field("blocks.7")

    class Again(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x) * 2
            for _ in range(2):
                x = self.conv(x)
            return x.flatten(1)

    again = scripted_copy(Again().eval(), tmp_path)
    with pytest.raises(ConfigError, match="'conv' of this TorchScript model: it runs again inside a loop or branch"):
        compute_field(again, inputs, FieldConfig(steps=2, target="channel_max", layer="conv"))


def test_penultimate_names_each_models_own_layer():
    assert resolve_layer(eager(0), PENULTIMATE) == "backbone"
    assert resolve_layer(make_cnn(0), PENULTIMATE) == "features"  # head(features(x).flatten(1))
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    assert resolve_layer(mlp, PENULTIMATE) == "2"
    assert resolve_layer(mlp, "1") == "1" and resolve_layer(mlp, None) is None
    named = torch.nn.Module()
    named.penultimate, named.head = torch.nn.Identity(), torch.nn.Identity()
    named.other = torch.nn.Identity()
    assert resolve_layer(named, PENULTIMATE) == "penultimate"  # a module of that very name is taken as it is
    with pytest.raises(ConfigError, match="model 'lone' has no child modules to read penultimate features from"):
        resolve_layer(torch.nn.Sequential(torch.nn.Linear(2, 2)), PENULTIMATE, "lone")
    # an identity placeholder before the head passes its input on: the module before it is read, in every format
    placeholder = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Identity(),
                                      torch.nn.Linear(392, 10))  # fmt: skip
    assert resolve_layer(placeholder, PENULTIMATE) == "1"
    assert resolve_layer(torch.jit.script(placeholder), PENULTIMATE) == "1"


def test_a_layer_fields_key_names_how_its_layer_is_read():
    """Fields of an inner layer stored before its output was copied (an in-place op after it changed what was read)
    are not served again: the key of every layer field carries the reading's version; output fields keep theirs."""
    assert "layer_reading" not in FieldConfig().to_json(for_key=True)
    keyed = LAYER.to_json(for_key=True)
    assert f'"layer_reading":{LAYER_READING}' in keyed and LAYER_READING >= 2
    assert "layer_reading" not in LAYER.to_json()  # the config itself is unchanged


@pytest.mark.parametrize("family", ["gifviz", "no backbone"])
def test_bench_tasks_runs_on_a_torchscript_zoo_with_the_channel_max_rule_and_cka(tmp_path, capsys, family):
    """By default the channel-max rule reads each model's penultimate module: ``backbone`` for gifviz's
    architectures, ``features`` for ``head(features(x).flatten(1))``, which has no backbone."""
    tasks = ("digit", "parity", "colour")
    lines = ['name = "tasks"', 'references = "refs"', "[input]", "channels = 3", "size = [32, 32]", "[data]",
             'transferability = "t.csv"']  # fmt: skip
    for seed, task in enumerate(tasks):
        model = eager(seed) if family == "gifviz" else make_cnn(seed, channels=3, size=32)
        save_torchscript(model, tmp_path / f"{task}.pt")
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


def test_a_layer_the_forward_never_runs_says_so():
    """A container (a ModuleList) is a module, but no forward hook of it ever fires."""
    with pytest.raises(ConfigError, match=r"layer 'extra' did not run in the model's forward pass"):
        model_features(SimpleNamespace(id="m", module=branchy(), preprocess=None), torch.rand(2, 1, 16, 16), "extra")
