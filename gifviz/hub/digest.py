"""Content digests of models: equal weights and preprocess give equal digests, whatever the file format."""

from __future__ import annotations

import hashlib
import json

import torch
from torch import nn

from gifviz.space import Preprocess


def model_digest(module: nn.Module, preprocess: Preprocess | None = None) -> str:
    """sha256 over the sorted state dict (name, dtype, shape, bytes) and the preprocess JSON."""
    h = hashlib.sha256()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            continue
        tensor = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tensor.dtype).encode())
        h.update(repr(tuple(tensor.shape)).encode())
        # Bytes through a uint8 view so every dtype (bfloat16 too) hashes without conversion.
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    h.update(json.dumps((preprocess or Preprocess()).to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def architecture_digest(module: nn.Module) -> str | None:
    """sha256 over the shapes of the module's parameters, in the order the module holds them: equal for two models
    of one architecture whatever their weights and file format (eager, TorchScript, ``torch.export``), so the audit
    can tell which independents share the source's architecture. Names are left out because formats may spell them
    differently. ``None`` for a model that shows no parameters (one reached through an API)."""
    shapes = [tuple(p.shape) for p in module.parameters()]
    if not shapes:
        return None
    return hashlib.sha256(repr(shapes).encode()).hexdigest()
