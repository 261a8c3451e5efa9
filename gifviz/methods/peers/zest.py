"""ZEST-style LIME distance (Jia et al., "A Zest of LIME: Towards Architecture-Independent Model Distances", ICLR 2022).

Black-box, no labels, shared output classes. For each reference, LIME fits a weighted linear model that explains the
model's outputs from which image regions are kept; a model is the concatenation of these local explanations, and two
models are as far apart as their explanations (cosine distance, as in ZEST).

Written here rather than taken from the ``lime`` package: ZEST needs the *same* segments and the *same* random masks
for every model so that coefficients are comparable, and evaluating all masks of all references in large batches is
what makes it affordable on a CPU. Segments are a fixed grid (the references are small); the linear fit is
scikit-learn's Ridge with LIME's exponential kernel as sample weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs, Signature
from gifviz.methods.peers.evaluation import model_outputs, output_classes

GRID = 4  # segments per side
SAMPLES = 64  # masks per reference
KERNEL_WIDTH = 0.25  # LIME's default kernel width, relative to sqrt(segments)
RIDGE_ALPHA = 1.0  # LIME's default ridge penalty


@dataclasses.dataclass(frozen=True)
class LimeContext:
    """Masked references ``(N * SAMPLES, C, H, W)``, the masks ``(SAMPLES, GRID*GRID)`` and N."""

    samples: torch.Tensor
    masks: np.ndarray
    references: int


def lime_masks(seed: int) -> np.ndarray:
    """``(SAMPLES, GRID*GRID)`` 0/1 masks; the first keeps everything, as in LIME."""
    rng = np.random.default_rng(seed)
    masks = rng.integers(0, 2, size=(SAMPLES, GRID * GRID)).astype(np.float64)
    masks[0] = 1.0
    return masks


def masked_images(images: torch.Tensor, masks: np.ndarray, fill: float) -> torch.Tensor:
    """``(N * SAMPLES, C, H, W)``: each reference with the masked-out grid cells set to ``fill``."""
    n, _, height, width = images.shape
    grid = torch.from_numpy(masks).float().view(-1, 1, GRID, GRID)
    pixel_masks = torch.nn.functional.interpolate(grid, size=(height, width), mode="nearest")  # (SAMPLES, 1, H, W)
    out = images[:, None] * pixel_masks[None] + fill * (1 - pixel_masks[None])
    return out.reshape(n * masks.shape[0], *images.shape[1:])


def lime_weights(masks: np.ndarray) -> np.ndarray:
    """LIME's exponential kernel ``(SAMPLES,)`` on the distance of each mask from the unmasked image."""
    distances = np.sqrt(((masks - 1.0) ** 2).sum(axis=1)) / np.sqrt(masks.shape[1])
    return np.exp(-(distances**2) / KERNEL_WIDTH**2)


def lime_solver(masks: np.ndarray, alpha: float = RIDGE_ALPHA) -> np.ndarray:
    """``(G, SAMPLES)`` matrix that maps outputs ``(SAMPLES,)`` to the weighted-ridge coefficients ``(G,)``.

    Centring by the weighted means handles the (unpenalized) intercept, as scikit-learn's Ridge does.
    """
    weights = lime_weights(masks)
    centred = masks - (weights @ masks) / weights.sum()
    gram = centred.T @ (weights[:, None] * centred) + alpha * np.eye(masks.shape[1])
    # y's weighted mean drops out: the centred columns have zero weighted sum.
    return np.linalg.solve(gram, centred.T * weights)


def lime_context(inputs: MethodInputs, probe: LoadedModel | None) -> LimeContext:
    """The masked references every model is evaluated on (the same masks for all models)."""
    images = inputs.references.images
    masks = lime_masks(inputs.seed)
    return LimeContext(masked_images(images, masks, float(images.mean())), masks, images.shape[0])


def lime_signature(model: LoadedModel, context: LimeContext) -> Signature:
    """``(N, K * GRID*GRID)``: per reference, the LIME coefficients of each segment for each output class."""
    masks = context.masks
    outputs = model_outputs(model, context.samples)
    probabilities = outputs.double().softmax(dim=1).view(context.references, masks.shape[0], -1).numpy()
    coefficients = np.einsum("gs,nsk->nkg", lime_solver(masks), probabilities)
    return Signature(coefficients.reshape(context.references, -1), output_classes(model, outputs))


def lime_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """Cosine distance between the two models' LIME coefficients on references ``rows``, in [0, 2]."""
    x = (a.values if rows is None else a.values[rows]).ravel()
    y = (b.values if rows is None else b.values[rows]).ravel()
    denominator = float(np.linalg.norm(x) * np.linalg.norm(y))
    return 1.0 if denominator == 0 else 1.0 - float(x @ y) / denominator


def lime_evaluations(context: LimeContext) -> int:
    return int(context.samples.shape[0])
