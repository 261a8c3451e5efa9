"""What the peer methods share: batched model evaluation (outputs, inner features) and the plain sample choices.

The interface they implement, beside ModelGiF, is :mod:`gifviz.methods.interface`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gifviz.config import PENULTIMATE
from gifviz.errors import GifvizError
from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs
from gifviz.script_layers import hookable
from gifviz.space import PreprocessedModel
from gifviz.torch_helpers import forward_in_chunks, layer_output, resolve_layer

EVAL_BATCH = 256


def model_outputs(model: LoadedModel, images: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, K)`` of ``model`` on raw inputs ``(N, C, H, W)``, through its own preprocess (a model that answers
    probabilities gives their logarithm: :func:`as_logits`)."""
    outputs = forward_in_chunks(model.wrapped(), images, EVAL_BATCH).float()
    if outputs.ndim != 2:
        raise GifvizError(f"model {model.id!r} returns outputs of shape {tuple(outputs.shape)}; peers need (N, K)")
    return as_logits(outputs)


def as_logits(outputs: torch.Tensor) -> torch.Tensor:
    """``outputs`` ``(N, K)``, or their logarithm when every row is a probability vector (non-negative, summing to 1).

    A prediction API may answer probabilities instead of logits. Their logarithm is a logit vector with the same
    softmax, so every method that reads softmax outputs, or ranks log-probabilities, sees the same model either way.
    A zero probability becomes the logarithm of float32's smallest normal number, not minus infinity.
    """
    if outputs.shape[0] == 0 or outputs.shape[1] < 2 or bool((outputs < 0).any()):
        return outputs
    if not torch.allclose(outputs.double().sum(dim=1), torch.ones(outputs.shape[0], dtype=torch.float64), atol=1e-3):
        return outputs
    return outputs.clamp_min(torch.finfo(torch.float32).tiny).log()


def output_classes(model: LoadedModel, outputs: torch.Tensor) -> tuple:
    """What two models must share to be compared by output: the class count and, when known, the class names."""
    return (outputs.shape[1], model.classes)


def other_classes_reason(origin: str, model_id: str) -> str:
    """Why a method that compares outputs class by class leaves ``model_id`` out (one wording, so the audit's notes
    group the methods that share it)."""
    return f"compares outputs class by class, and {model_id!r} has other output classes than {origin!r}"


def model_features(model: LoadedModel, images: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """Features ``(N, F)`` of ``layer`` (default: the model's penultimate module, :data:`~gifviz.config.PENULTIMATE`),
    read by a forward hook and flattened."""
    layer = resolve_layer(model.module, layer or PENULTIMATE, model.id)
    module = hookable(model.module, layer)  # a TorchScript model's layer becomes readable by a forward hook
    wrapped = PreprocessedModel(module, model.preprocess)
    with layer_output(module, layer) as read:
        features = forward_in_chunks(lambda chunk: read(wrapped(chunk)).flatten(1), images, EVAL_BATCH)
    return features.double()


def select(values: Any, rows: np.ndarray | None) -> Any:
    """``values[rows]`` (all rows when ``rows`` is None)."""
    return values if rows is None else values[torch.as_tensor(rows, dtype=torch.long)]


def references_as_samples(inputs: MethodInputs, probe: LoadedModel | None) -> torch.Tensor:
    """The plain context: every model sees the references themselves ``(N, C, H, W)``."""
    return inputs.references.images


def sample_count(context: torch.Tensor) -> int:
    return int(context.shape[0])
