"""A small RGB zoo with known lineage for app tests (built in seconds, no training)."""

from __future__ import annotations

from pathlib import Path

import torch
from conftest import perturbed, write_pngs, write_zoo

from gifviz.hub.architectures import build_architecture


def build_app_zoo(root: Path) -> Path:
    """source, two fine-tuned-like children (small weight noise), two independents; 3x32x32; refs in the manifest."""
    torch.manual_seed(0)
    source = build_architecture("cnn_small", 10, "source").eval()
    models, fields = {"source": source}, {"source": {"relation": "source", "family": "lineage"}}
    for k in range(2):
        child = build_architecture("cnn_small", 10, "child").eval()
        child.load_state_dict(source.state_dict())
        models[f"child{k + 1}"] = perturbed(child, 0.01)
        fields[f"child{k + 1}"] = {"relation": "finetune", "family": "lineage", "parent": "source"}
    for k in range(2):
        torch.manual_seed(100 + k)
        models[f"indep{k + 1}"] = build_architecture("cnn_small", 10, "i").eval()
        fields[f"indep{k + 1}"] = {"relation": "independent", "family": "lineage"}
    manifest = write_zoo(root, models, channels=3, size=32, name="app-test", references="refs", fields=fields)
    write_pngs(root / "refs", 8, size=32, channels=3)
    return manifest
