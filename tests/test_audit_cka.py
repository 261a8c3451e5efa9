"""CKA in the audit's default methods: fused into ``combined`` for a suspect of the source's classes, read but not
fused for a transfer model (the cross-task rule), on TorchScript files of the stress zoos' own architecture."""

from __future__ import annotations

import copy

import torch
from conftest import write_pngs, write_zoo
from lineage_zoo import fine_tuned
from torch import nn

from gifviz.audit import audit
from gifviz.audit.names import CROSS_TASK_METHODS, DEFAULT_FUSION, DEFAULT_METHODS
from gifviz.builtin_zoo.architectures import cnn_small
from gifviz.config import FieldConfig
from gifviz.hub import Zoo
from gifviz.refs import load_reference_folder


def small_cnn(seed: int, classes: int = 10) -> nn.Module:
    """The stress zoos' ``cnn_small`` on 1-channel digits: ``head(backbone(x))``, a backbone a hook can read on
    TorchScript files too."""
    torch.manual_seed(seed)
    return cnn_small(classes, in_channels=1).eval()


def test_cka_is_fused_for_a_suspect_of_the_sources_classes_and_not_for_a_transfer_model(tmp_path):
    assert "cka" in DEFAULT_METHODS and "cka" not in CROSS_TASK_METHODS
    source = small_cnn(0)
    transfer = copy.deepcopy(source)
    transfer.head = nn.Linear(transfer.head.in_features, 5)  # a new head for another task on the source's backbone
    independents = {f"ind{k}": small_cnn(10 + k) for k in range(4)}
    manifest = write_zoo(
        tmp_path, {"source": source, "ft": fine_tuned(source, 1), "transfer": transfer, **independents}
    )
    text = manifest.read_text()
    for model_id in independents:
        text = text.replace(f'id = "{model_id}"\n', f'id = "{model_id}"\nrelation = "independent"\n')
    manifest.write_text(text)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(write_pngs(tmp_path / "refs", 8), zoo.space)

    result = audit(zoo, "source", ["ft", "transfer"], None, ("modelgif", "cka"), references, FieldConfig(steps=2))

    # CKA reads both suspects: its penultimate layer is hooked on the TorchScript files
    assert result.row("ft", "cka").verdict != "n/a" and result.row("transfer", "cka").verdict != "n/a"
    assert result.row("ft", "cka").distance < min(result.evidence.distances["cka"][j] for j in independents)
    # fused for the fine-tuned copy, which shares the source's classes
    assert f"{DEFAULT_FUSION} of modelgif, cka" in result.row("ft").note and "left out" not in result.row("ft").note
    # the transfer model is read by ModelGiF alone, though CKA has a value for it
    transfer_note = result.row("transfer").note
    assert "combined reads modelgif only" in transfer_note
    assert "modelgif's own reading (one method" in transfer_note and "cka" not in transfer_note
