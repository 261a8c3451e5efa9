"""What every peer method shares: its description, the inputs it sees, and batched model evaluation.

A peer answers the same question as the field distance, "a distance matrix for these models on these references",
so the app and the testbeds can treat ModelGiF and its peers alike (one interface, as captum does for attributions).

Each method works in two stages: ``signature(model, context)`` summarizes one model per reference (rows indexed by
reference), and ``compare(a, b, rows)`` turns two signatures into a distance using only the given reference rows.
The split lets the testbeds resample references (bootstrap intervals) and sweep the reference count without running
a model twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gifviz.errors import ConfigError, GifvizError
from gifviz.hub.spec import LoadedModel
from gifviz.refs import ReferenceSet
from gifviz.space import PreprocessedModel
from gifviz.torch_helpers import layer_output

EVAL_BATCH = 256


@dataclasses.dataclass(frozen=True)
class PeerInputs:
    """What a peer method is given besides the models.

    Attributes:
        references: the probe inputs ``(N, C, H, W)``; ``labels`` are needed by label-based methods (SAC-w).
        probe: the model whose owner asks (the source in IP protection). Methods that craft their inputs from a model
            (ModelDiff's input pairs, SAC-w's misclassified samples) craft them from this one; ``None`` means the
            first model of the list.
        value_range: the input space's value range, for clamping crafted inputs.
        seed: seeds every random choice (CutMix boxes, LIME masks, perturbations).
    """

    references: ReferenceSet
    probe: LoadedModel | None = None
    value_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Signature:
    """One model's summary: ``values`` with one leading row per sample, and its output classes (or None)."""

    values: Any
    classes: tuple | None = None


@dataclasses.dataclass(frozen=True)
class PeerMethod:
    """One peer method and what it needs.

    Attributes:
        name: short key (``sac-w``).
        title: the name a reader knows it by.
        citation: the paper it follows.
        access: ``black-box`` (outputs only) or ``white-box`` (inner features or gradients).
        needs_labels: the references must carry ground-truth labels.
        shared_outputs: only models with the same output classes can be compared (other pairs are NaN).
        uses_probe: its samples are crafted or chosen with the probe model, so signatures depend on the probe.
        prepare: ``(inputs, probe) -> context``: the samples every model is evaluated on.
        signature: ``(model, context) -> Signature``.
        compare: ``(a, b, rows) -> distance``; ``rows`` indexes the samples (``None``: all).
        evaluations: ``(context) -> int``: model evaluations per model (forward passes, one per sample).
    """

    name: str
    title: str
    citation: str
    access: str
    needs_labels: bool
    shared_outputs: bool
    uses_probe: bool
    prepare: Callable[[PeerInputs, LoadedModel], Any]
    signature: Callable[[LoadedModel, Any], Signature]
    compare: Callable[[Signature, Signature, np.ndarray | None], float]
    evaluations: Callable[[Any], int]

    def distance(self, a: Signature, b: Signature, rows: np.ndarray | None = None) -> float:
        """The distance of two signatures on sample ``rows``; NaN where this method cannot compare them."""
        if self.shared_outputs and a.classes != b.classes:
            return float("nan")
        return float(self.compare(a, b, rows))


def wrapped_model(model: LoadedModel) -> PreprocessedModel:
    """``model(preprocess(x))`` as one module. No ``.eval()`` here: the hub gives models in eval mode already (set
    flag by flag, because exported ``.pt2`` programs refuse ``train()``/``eval()``)."""
    return PreprocessedModel(model.module, model.preprocess)


def model_outputs(model: LoadedModel, images: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, K)`` of ``model`` on raw inputs ``(N, C, H, W)``, through its own preprocess."""
    wrapped = wrapped_model(model)
    with torch.no_grad():
        chunks = [wrapped(images[start : start + EVAL_BATCH]) for start in range(0, len(images), EVAL_BATCH)]
    outputs = torch.cat(chunks).float()
    if outputs.ndim != 2:
        raise GifvizError(f"model {model.id!r} returns outputs of shape {tuple(outputs.shape)}; peers need (N, K)")
    return outputs


def output_classes(model: LoadedModel, outputs: torch.Tensor) -> tuple:
    """What two models must share to be compared by output: the class count and, when known, the class names."""
    return (outputs.shape[1], model.classes)


def default_layer(model: LoadedModel) -> str:
    """The penultimate features: the ``backbone`` module of gifviz architectures, else the module before the last."""
    names = [name for name, _ in model.module.named_children()]
    if "backbone" in names:
        return "backbone"
    if len(names) < 2:
        raise ConfigError(f"model {model.id!r} has no child modules to read features from; name a layer")
    return names[-2]


def model_features(model: LoadedModel, images: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """Features ``(N, F)`` of ``layer`` (default: :func:`default_layer`), read by a forward hook and flattened."""
    wrapped = wrapped_model(model)
    chunks = []
    with torch.no_grad(), layer_output(model.module, layer or default_layer(model)) as read:
        for start in range(0, len(images), EVAL_BATCH):
            chunks.append(read(wrapped(images[start : start + EVAL_BATCH])).flatten(1))
    return torch.cat(chunks).double()


def select(values: Any, rows: np.ndarray | None) -> Any:
    """``values[rows]`` (all rows when ``rows`` is None)."""
    return values if rows is None else values[torch.as_tensor(rows, dtype=torch.long)]


def references_as_samples(inputs: PeerInputs, probe: LoadedModel) -> torch.Tensor:
    """The plain context: every model sees the references themselves ``(N, C, H, W)``."""
    return inputs.references.images


def sample_count(context: torch.Tensor) -> int:
    return int(context.shape[0])


def pairwise_matrix(method: PeerMethod, signatures: Sequence[Signature]) -> np.ndarray:
    """Symmetric ``(M, M)`` distances over all pairs, zero diagonal.

    Signatures are small (``(N,)`` vectors to ``(N, N)`` matrices), so a pair loop costs little next to the forward
    passes; the field distance, whose summaries are ``(N*S*D,)``, uses one GEMM instead.
    """
    m = len(signatures)
    matrix = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            matrix[i, j] = matrix[j, i] = method.distance(signatures[i], signatures[j])
    return matrix
