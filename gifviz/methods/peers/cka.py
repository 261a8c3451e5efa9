"""Linear centred kernel alignment on penultimate features (Kornblith et al., "Similarity of Neural Network
Representations Revisited", ICML 2019).

White-box (a forward hook reads the features) and architecture-agnostic: features of any width are compared through
their Gram matrices over the references, so it also compares models with different heads and tasks. Distance = 1 - CKA.
"""

from __future__ import annotations

import numpy as np
import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import Signature
from gifviz.methods.peers.evaluation import model_features, select


def features_signature(model: LoadedModel, samples: torch.Tensor) -> Signature:
    """Penultimate features ``(N, F)``."""
    return Signature(model_features(model, samples))


def _centred_gram(features: torch.Tensor) -> torch.Tensor:
    centred = features - features.mean(dim=0, keepdim=True)
    return centred @ centred.T


def cka_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """One minus linear CKA of the two feature sets on samples ``rows``, in [0, 1]."""
    # HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with centred Grams is the Frobenius cosine of the two Gram matrices.
    x, y = _centred_gram(select(a.values, rows)), _centred_gram(select(b.values, rows))
    denominator = float(x.norm() * y.norm())
    if denominator == 0:  # constant features: no representation to align
        return 1.0
    return 1.0 - float((x * y).sum()) / denominator
