"""Output-based peers: how often two models disagree, and how far apart their softmax outputs are.

Both are the first thing a practitioner tries. They need only black-box outputs, but only models that share their
output classes can be compared: a pair with different classes gets NaN (a parity model has no digit answer to agree
with), and the testbeds report the category as not applicable.
"""

from __future__ import annotations

import numpy as np
import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import Signature
from gifviz.methods.peers.evaluation import model_outputs, output_classes, select


def probabilities_signature(model: LoadedModel, samples: torch.Tensor) -> Signature:
    """Softmax outputs ``(N, K)``."""
    outputs = model_outputs(model, samples)
    return Signature(outputs.double().softmax(dim=1), output_classes(model, outputs))


def disagreement(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """Fraction of samples where the two models predict different classes, in [0, 1]."""
    return float((select(a.values, rows).argmax(dim=1) != select(b.values, rows).argmax(dim=1)).double().mean())


def softmax_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """Mean over samples of the L2 distance between the two softmax vectors, in [0, sqrt(2)]."""
    return float((select(a.values, rows) - select(b.values, rows)).norm(dim=1).mean())
