"""Sample correlation (SAC, Guan et al., "Are You Stealing My Model? Sample Correlation for Fingerprinting Deep
Neural Networks", NeurIPS 2022).

Black-box and usable across output classes: a model is summarized by the ``(n, n)`` matrix of cosine similarities
between its softmax outputs on ``n`` samples, and two models by the mean absolute difference of their matrices. The
samples decide what is compared:

- SAC-w: the references that the probe (the defender's own model) misclassifies, where a stolen copy inherits the
  source's mistakes and an independent model does not (needs labels).
- SAC-m: CutMix mixes of the references, which need no labels.
"""

from __future__ import annotations

import numpy as np
import torch

from gifviz.errors import GifvizError
from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs, Signature
from gifviz.methods.peers.evaluation import model_outputs
from gifviz.refs import cutmix

MIN_WRONG = 4


def correlation_signature(model: LoadedModel, samples: torch.Tensor) -> Signature:
    """``(n, n)`` cosine similarities of the model's softmax outputs on ``samples`` ``(n, C, H, W)``."""
    unit = torch.nn.functional.normalize(model_outputs(model, samples).double().softmax(dim=1), dim=1)
    return Signature(unit @ unit.T)


def correlation_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """Mean absolute difference of two correlation matrices, restricted to samples ``rows``."""
    difference = (a.values - b.values).abs()
    if rows is not None:
        index = torch.as_tensor(rows, dtype=torch.long)
        difference = difference[index][:, index]
    return float(difference.mean())


def misclassified(inputs: MethodInputs, probe: LoadedModel) -> torch.Tensor:
    """The references the probe gets wrong, ``(n, C, H, W)`` (SAC-w's samples)."""
    labels = inputs.references.labels
    if labels is None:
        raise GifvizError("SAC-w selects the samples the probe misclassifies: give references with labels")
    wrong = model_outputs(probe, inputs.references.images).argmax(dim=1) != labels
    if int(wrong.sum()) < MIN_WRONG:
        raise GifvizError(
            f"SAC-w found only {int(wrong.sum())} references that {probe.id!r} misclassifies (needs {MIN_WRONG}); "
            "give it a larger labelled pool"
        )
    return inputs.references.images[wrong]


def cutmix_samples(inputs: MethodInputs, probe: LoadedModel | None) -> torch.Tensor:
    """CutMix mixes of the references ``(N, C, H, W)`` (SAC-m's samples)."""
    return cutmix(inputs.references.images, inputs.seed)
