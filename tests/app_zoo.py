"""A small RGB zoo with known lineage for app tests (built in seconds, no training)."""

from __future__ import annotations

from pathlib import Path

import torch
from conftest import save_torchscript, write_pngs

from gifviz.hub.architectures import build_architecture


def build_app_zoo(root: Path) -> Path:
    """source, two fine-tuned-like children (small weight noise), two independents; 3x32x32; refs in the manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    torch.manual_seed(0)
    source = build_architecture("cnn_small", 10, "source").eval()
    models = {"source": (source, "source", None)}
    for k in range(2):
        child = build_architecture("cnn_small", 10, "child").eval()
        child.load_state_dict(source.state_dict())
        with torch.no_grad():
            for parameter in child.parameters():
                parameter.add_(0.01 * parameter.std().nan_to_num() * torch.randn_like(parameter))
        models[f"child{k + 1}"] = (child, "finetune", "source")
    for k in range(2):
        torch.manual_seed(100 + k)
        models[f"indep{k + 1}"] = (build_architecture("cnn_small", 10, "i").eval(), "independent", None)
    lines = ['name = "app-test"', 'references = "refs"', "[input]", "channels = 3", "size = [32, 32]"]
    for model_id, (model, relation, parent) in models.items():
        save_torchscript(model, root / "models" / f"{model_id}.pt")
        lines += [
            "[[models]]",
            f'id = "{model_id}"',
            f'file = "models/{model_id}.pt"',
            'task = "digit"',
            f'relation = "{relation}"',
            'family = "lineage"',
        ]
        if parent:
            lines.append(f'parent = "{parent}"')
    (root / "zoo.toml").write_text("\n".join(lines) + "\n")
    write_pngs(root / "refs", 8, size=32, channels=3)
    return root / "zoo.toml"
