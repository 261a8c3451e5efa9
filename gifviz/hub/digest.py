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
