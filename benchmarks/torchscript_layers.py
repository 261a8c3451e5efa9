"""Every inner layer of outside architectures, read from a TorchScript copy and from the eager model: equal, refused
with a reason, or different (a fault).

gifviz reads a TorchScript model's layer from a copy of its compiled graph (``gifviz.script_layers``). The tests check
that on small models made for the purpose; this script checks it on the architectures users bring: torchvision's and
timm's (random weights: the weights do not change the graph), each scripted and traced, saved and loaded back as a
zoo file would be. For every named module it compares the features CKA reads (``model_features``, two images) and,
for a few layers per model, the channel-max field (values and gradients through the graph).

    python benchmarks/torchscript_layers.py [--arch NAME ...] [--fields 4]

Prints one row per architecture and format: layers, equal, refused (by reason), different, not readable eagerly
either (containers); then each different layer, if any.
"""

from __future__ import annotations

import argparse
import io
import time
import warnings
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import torch
from torch import nn

from gifviz import FieldConfig, compute_field
from gifviz.errors import ConfigError
from gifviz.methods.peers.evaluation import model_features


def _torchvision(name: str) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        import torchvision

        if name == "vit":  # a small ViT: the same code path as vit_b_16, at 32 px
            return torchvision.models.VisionTransformer(32, 8, 2, 2, 32, 64, num_classes=10)
        if name == "googlenet":
            return torchvision.models.googlenet(num_classes=10, aux_logits=False, init_weights=False)
        return getattr(torchvision.models, name)(num_classes=10)

    return make


def _timm(name: str, **options: object) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        import timm

        return timm.create_model(name, pretrained=False, num_classes=10, scriptable=True, **options)

    return make


ARCHITECTURES: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "torchvision resnet18": (_torchvision("resnet18"), 32),
    "torchvision mobilenet_v3_small": (_torchvision("mobilenet_v3_small"), 32),
    "torchvision convnext_tiny": (_torchvision("convnext_tiny"), 32),
    "torchvision efficientnet_b0": (_torchvision("efficientnet_b0"), 32),
    "torchvision googlenet": (_torchvision("googlenet"), 64),
    "torchvision vit (2 blocks, 32 px)": (_torchvision("vit"), 32),
    "timm vit_tiny (2 blocks, 32 px)": (
        _timm("vit_tiny_patch16_224", img_size=32, patch_size=8, depth=2),
        32,
    ),
    "timm convnext_atto": (_timm("convnext_atto"), 32),
    "timm efficientnet_b0": (_timm("efficientnet_b0"), 32),
}


def _file_copy(model: nn.Module, images: torch.Tensor, traced: bool) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.trace(model, images, check_trace=False) if traced else torch.jit.script(model)
        buffer = io.BytesIO()
        torch.jit.save(compiled, buffer)
        buffer.seek(0)
        return torch.jit.load(buffer)


def _features(module: nn.Module, images: torch.Tensor, layer: str) -> torch.Tensor:
    return model_features(SimpleNamespace(id="m", module=module, preprocess=None), images, layer)


def _reason(error: ConfigError) -> str:
    """The refusal's reason, without the layer's name."""
    text = str(error)
    return text.split(": ", 1)[-1].split(";")[0] if "TorchScript model" in text else text.split(";")[0]


def check(name: str, make: Callable[[], nn.Module], size: int, fields: int) -> list[str]:
    """Rows of the table for one architecture, scripted and traced; prints each different layer."""
    torch.manual_seed(0)
    model = make().eval()
    images = torch.rand(2, 3, size, size)
    layers = [layer for layer, _ in model.named_modules() if layer]
    rows = []
    for traced in (False, True):
        started = time.perf_counter()
        copy = _file_copy(model, images, traced)
        outcome: Counter[str] = Counter()
        equal: list[str] = []
        for layer in layers:
            try:
                expected = _features(model, images, layer)
            except ConfigError:
                outcome["not readable eagerly"] += 1
                continue
            try:
                got = _features(copy, images, layer)
            except ConfigError as error:
                outcome[f"refused: {_reason(error)}"] += 1
                continue
            if got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
                outcome["equal"] += 1
                equal.append(layer)
            else:
                outcome["different"] += 1
                print(f"  DIFFERENT {name} ({'traced' if traced else 'scripted'}) {layer}")
        field_equal = 0
        picked = equal[:: max(1, len(equal) // fields)][:fields] if fields else []
        for layer in picked:
            config = FieldConfig(steps=2, target="channel_max", layer=layer)
            eager_field = compute_field(model, images, config).values
            file_field = compute_field(copy, images, config).values
            field_equal += bool(torch.allclose(file_field, eager_field, rtol=1e-3, atol=1e-5))
        refused = "; ".join(f"{count} {kind[9:]}" for kind, count in sorted(outcome.items()) if kind.startswith("ref"))
        rows.append(
            f"| {name} | {'traced' if traced else 'scripted'} | {len(layers)} | {outcome['equal']} | "
            f"{outcome['different']} | {outcome['not readable eagerly']} | {refused or '-'} | "
            f"{field_equal} of {len(picked)} | {time.perf_counter() - started:.0f} s |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", choices=sorted(ARCHITECTURES), help="default: all")
    parser.add_argument("--fields", type=int, default=4, help="layers per model whose field is compared too")
    args = parser.parse_args()
    header = (
        "| architecture | file | layers | equal | different | not readable eagerly | refused (reason) "
        "| fields equal | time |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for name in args.arch or ARCHITECTURES:
        make, size = ARCHITECTURES[name]
        rows += check(name, make, size, args.fields)
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
