"""First-layer weights: does a model still carry the source's input filters?

Fine-tuning, pruning and transfer learning start from the source's weights, and however long they train, the first
layer's filters stay close to where they started: on gifviz's stress zoos, every fine-tuned, pruned or transfer model
(long transfer models included, trained for as long as an independent model from the source's weights) keeps its
source's first-layer filters at a matched cosine of 0.977 or more, while independent models, thieves trained from
scratch and models of another task sit at 0.26-0.59 (the round-sixteen declaration,
``benchmarks/results/round-sixteen/DECLARED.md``, has the table). No output-based method sees this: a transfer
model's new head answers another task, and its function moves far from the source's.

Only the first layer is read because it is the one layer whose inputs are fixed (the image's pixels and channels):
its filters are a set whose order training does not fix, so they are compared after a one-to-one matching
(:func:`scipy.optimize.linear_sum_assignment`), and nothing else is arbitrary. A deeper layer's inputs are the
previous layer's channels, in an order fixed by every earlier matching and tied across skip connections, which a
rule for any network's graph (a TorchScript file, an exported program) cannot follow.

The first layer is the first parameter ``named_parameters()`` gives (modules in pre-order, each module's own before
its children's) that is a layer's weight of two to five dimensions, ``(out, in, ...)`` with more than one input
weight per unit: the stem of a torchvision or timm network, a ViT's patch embedding, an MLP's first linear layer.
Only a parameter named ``weight`` counts (or the direction ``weight_v`` / ``weight.original1`` of a weight-normed
layer): a class token, a position embedding held by an outer module, or a weight norm's magnitude (one number per
unit, which would make every two banks of one width alike) is not a layer's filters. Two models whose first layers
differ in shape (other architectures, mostly) have no distance: the audit leaves them out of this method with
:data:`UNDEFINED`. Nor has a model reached only through its answers, which shows no weights.

A frozen TorchScript file (``torch.jit.freeze``) has no parameters: its weights are constants of its graph, and
freezing folds each batch norm into the convolution before it. Its first layer is then the weight constant of the
first convolution or linear operation in the graph's order (the order the forward pass runs its top-level steps).
Folding multiplies each filter by one number, its batch norm's scale over its spread, which a cosine does not see
while that number is positive, as a batch norm's scale usually is (it starts at 1; a negative one turns its filter
round): a frozen copy of a model reads at distance 0 from the model itself. A graph whose first such operation
takes its weight from elsewhere (a packed operand of ``torch.jit.optimize_for_inference``, a weight computed at run
time) shows none.

What it claims: the suspect's first layer started from the source's (or from a common ancestor's: two fine-tunes of
one pretrained network are close by it). A thief that trains its own network from scratch is not seen, and an
adversary who re-initialises or perturbs the first layer evades it; the other methods are there for those. A filter
pruned to zero matches nothing, so a copy with most of its first-layer filters removed (structured pruning) reads
far; magnitude pruning of single weights, as in the stress zoos, leaves the filters' directions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from gifviz.hub.query_only import is_query_only
from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs, Signature

UNDEFINED = (
    "no first layer of the source's shape to compare (another architecture, or a model that shows no weights: one "
    "reached only through its answers)"
)
# The names a layer's filters go by: its weight, or the direction of a weight-normed one (old and new API).
_FILTER_NAMES = ("weight", "weight_v")
_PARAMETRIZED_FILTERS = ".weight.original1"
# The graph operations of a frozen TorchScript file that apply a layer's weight, which is their second input
# (scripted modules call aten::conv2d and aten::linear, traced ones aten::_convolution).
_LAYER_OPERATIONS = frozenset(
    {"aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution", "aten::convolution", "aten::linear"}
)


def _is_bank(weight: torch.Tensor) -> bool:
    return 2 <= weight.dim() <= 5 and weight[0].numel() > 1


def _is_filters(name: str, parameter: torch.Tensor) -> bool:
    named = name.rsplit(".", 1)[-1] in _FILTER_NAMES or name.endswith(_PARAMETRIZED_FILTERS)
    return named and _is_bank(parameter)


def _graph_first_layer(module: torch.jit.ScriptModule) -> tuple[str, torch.Tensor] | None:
    """A frozen TorchScript file's first layer: the weight constant of its graph's first convolution or linear
    operation (module docstring), named after the operation; ``None`` when that operation's weight is no constant."""
    for node in module.graph.nodes():
        if node.kind() not in _LAYER_OPERATIONS:
            continue
        weight = list(node.inputs())[1]
        value = weight.toIValue() if weight.node().kind() == "prim::Constant" else None
        if isinstance(value, torch.Tensor) and _is_bank(value):
            return f"{node.kind()} (frozen graph)", value.detach()
        return None
    return None


def first_layer(module: torch.nn.Module) -> tuple[str, torch.Tensor] | None:
    """The name and weight ``(out, in, ...)`` of ``module``'s first layer (module docstring), or ``None`` for a model
    that shows no such weight (a query-only model, a network without one)."""
    if is_query_only(module):
        return None
    for name, parameter in module.named_parameters():
        if _is_filters(name, parameter):
            return name, parameter.detach()
    if isinstance(module, torch.jit.ScriptModule) and not any(True for _ in module.parameters()):
        return _graph_first_layer(module)  # frozen: the weights are the graph's constants
    return None


def no_samples(inputs: MethodInputs, probe: LoadedModel | None) -> None:
    """The method reads weights, not answers: no sample is prepared."""
    return None


def no_evaluations(context: Any) -> int:
    return 0


def filters_signature(model: LoadedModel, context: None) -> Signature:
    """The first layer's weight with a leading axis, ``(1, F, in, ...)`` (``F`` output units), float64, in its own
    shape (a ``3x3`` convolution and a linear layer of 9 inputs are not one shape); ``(1, 0)`` for a model that shows
    none."""
    found = first_layer(model.module)
    if found is None:
        return Signature(np.zeros((1, 0)))
    return Signature(found[1].to(device="cpu", dtype=torch.float64).unsqueeze(0).numpy())


def matched_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The mean cosine of two filter banks ``(F, D)`` after the one-to-one matching that maximises it; a filter of
    zero norm (pruned away) matches nothing (cosine 0)."""
    norms = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    cosines = np.divide(a @ b.T, norms, out=np.zeros(norms.shape), where=norms > 0)
    rows, cols = linear_sum_assignment(cosines, maximize=True)
    return float(cosines[rows, cols].mean())


def first_layer_distance(a: Signature, b: Signature, rows: np.ndarray | None = None) -> float:
    """One minus :func:`matched_cosine` of the two first layers, in [0, 2]; NaN when they differ in shape, either
    model shows none, or a weight is not finite. ``rows`` is ignored: the weights do not depend on the references."""
    x, y = np.asarray(a.values)[0], np.asarray(b.values)[0]
    if x.shape != y.shape or x.size == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return float("nan")
    return 1.0 - matched_cosine(x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1))
