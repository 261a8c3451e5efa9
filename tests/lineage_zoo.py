"""A zoo of known lineage for the audit's tests (built in seconds, no training): a source, two fine-tuned copies, a
transfer model, five independents and one independent of another task."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from conftest import make_cnn, write_pngs, write_zoo

INDEPENDENTS = ("ind0", "ind1", "ind2", "ind3", "ind4")


def fine_tuned(model: torch.nn.Module, seed: int, scale: float = 0.01) -> torch.nn.Module:
    """A copy of ``model`` whose weights moved a little: what a short fine-tune does."""
    tuned = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in tuned.parameters():
            parameter.add_(scale * parameter.abs().mean() * torch.randn(parameter.shape, generator=generator))
    return tuned


def lineage_zoo(root: Path) -> tuple[Path, Path]:
    """(manifest, references): a source, two fine-tuned copies, a transfer model (source features, a 5-class head),
    five independents of other seeds marked ``relation = "independent"``, and one independent of another task."""
    source = make_cnn(0)
    transfer = make_cnn(50, classes=5)
    transfer.features.load_state_dict(source.features.state_dict())
    models = {
        "source": source,
        "ft1": fine_tuned(source, 1),
        "ft2": fine_tuned(source, 2),
        "transfer": transfer,
        **{model_id: make_cnn(10 + i) for i, model_id in enumerate(INDEPENDENTS)},
        "parity": make_cnn(30),
    }
    manifest = write_zoo(root, models)
    text = manifest.read_text()
    for model_id in INDEPENDENTS:
        text = text.replace(f'id = "{model_id}"\n', f'id = "{model_id}"\nrelation = "independent"\n')
    text = text.replace(
        'id = "parity"\nfile = "models/parity.pt"\ntask = "digit"',
        'id = "parity"\nfile = "models/parity.pt"\ntask = "parity"\nrelation = "independent"',
    )
    manifest.write_text(text)
    return manifest, write_pngs(root / "refs", 8)
