"""An independent implementation of the paper's definition, for checking gifviz end to end.

It shares no code with gifviz: its own image reading, its own Gauss-Legendre nodes (numpy), one autograd call per
path point, and a plain double loop over model pairs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def read_refs(folder: Path, n: int) -> torch.Tensor:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".png")[:n]
    arrays = [np.asarray(Image.open(p).convert("L"), dtype=np.float64) / 255.0 for p in files]
    return torch.tensor(np.stack(arrays))[:, None]


def field(model: torch.nn.Module, x: torch.Tensor, steps: int) -> torch.Tensor:
    """(N, S, D) cumulative integrated gradients from a zero baseline, target = predicted class."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, step_weights = (nodes + 1) / 2, weights / 2
    out = []
    for i in range(x.shape[0]):
        target = int(model(x[i : i + 1]).argmax())
        running = torch.zeros_like(x[i])
        rows = []
        for k in range(steps):
            point = (alphas[k] * x[i : i + 1]).clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(model(point)[0, target], point)
            running = running + step_weights[k] * grad[0]
            rows.append((running * x[i]).flatten())
        out.append(torch.stack(rows))
    return torch.stack(out)


def distances(model_files: dict[str, Path], refs: Path, n: int, steps: int) -> tuple[list[str], np.ndarray]:
    x = read_refs(refs, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        models = {k: torch.jit.load(str(p)).double().eval() for k, p in model_files.items()}
    fields = {k: field(m, x, steps) for k, m in models.items()}
    names = list(models)
    result = np.zeros((len(names), len(names)))
    for a, na in enumerate(names):
        for b, nb in enumerate(names):
            cos = torch.nn.functional.cosine_similarity(fields[na], fields[nb], dim=-1)
            # Convention: two vanishing gradients agree.
            both_zero = (fields[na].abs().amax(-1) == 0) & (fields[nb].abs().amax(-1) == 0)
            cos = torch.where(both_zero, torch.ones_like(cos), cos)
            result[a, b] = float((1 - cos).mean())
    return names, result
