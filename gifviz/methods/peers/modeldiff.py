"""ModelDiff-style decision distance vectors (Li et al., "ModelDiff: Testing-based DNN similarity comparison for
model reuse detection", ISSTA 2021).

Black-box, no labels, any output classes. Each reference ``x_i`` is paired with a crafted ``x'_i`` that the probe
model (the defender's own) sees differently; a model's decision distance vector (DDV) holds, per pair, the cosine
similarity of its outputs at ``x_i`` and ``x'_i``. Two models whose DDVs move together react alike to the same input
changes. We compare DDVs by Pearson correlation rather than the raw cosine: every entry sits near 1, so the raw cosine
is dominated by that common offset and separates nothing.
"""

from __future__ import annotations

import numpy as np
import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs, Signature
from gifviz.methods.peers.evaluation import model_outputs, select

EPSILON = 0.06  # L-inf budget of the crafted partner, as a fraction of the input range
CRAFT_STEPS = 4


def craft_pairs(inputs: MethodInputs, probe: LoadedModel) -> tuple[torch.Tensor, torch.Tensor]:
    """References ``(N, C, H, W)`` and their partners: a random start in the L-inf ball, then signed-gradient steps
    that turn the probe's output away from its output at the reference (ModelDiff's search for diverse decisions)."""
    images = inputs.references.images
    low, high = inputs.value_range
    wrapped = probe.wrapped()
    generator = torch.Generator().manual_seed(inputs.seed)
    scale = EPSILON * (high - low)
    with torch.no_grad():
        original = wrapped(images).softmax(dim=1)
    partner = (images + (torch.rand(images.shape, generator=generator) * 2 - 1) * scale).clamp(low, high)
    for _ in range(CRAFT_STEPS):
        partner.requires_grad_(True)
        similarity = torch.nn.functional.cosine_similarity(wrapped(partner).softmax(dim=1), original, dim=1)
        (gradient,) = torch.autograd.grad(similarity.sum(), partner)
        with torch.no_grad():
            partner = partner - scale / CRAFT_STEPS * gradient.sign()
            partner = torch.minimum(torch.maximum(partner, images - scale), images + scale).clamp(low, high)
    return images, partner.detach()


def ddv_signature(model: LoadedModel, pairs: tuple[torch.Tensor, torch.Tensor]) -> Signature:
    """``(N,)``: cosine similarity of the model's softmax outputs at each reference and at its partner."""
    a = model_outputs(model, pairs[0]).double().softmax(dim=1)
    b = model_outputs(model, pairs[1]).double().softmax(dim=1)
    return Signature(torch.nn.functional.cosine_similarity(a, b, dim=1))


def ddv_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """One minus the Pearson correlation of two DDVs, in [0, 2]."""
    x, y = select(a.values, rows), select(b.values, rows)
    x, y = x - x.mean(), y - y.mean()
    denominator = float(x.norm() * y.norm())
    if denominator == 0:  # a model whose decisions never change carries no signal
        return 1.0
    return 1.0 - float(x @ y) / denominator


def pair_count(pairs: tuple[torch.Tensor, torch.Tensor]) -> int:
    return 2 * int(pairs[0].shape[0])
