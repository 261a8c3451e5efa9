"""The one interface every distance method implements, ModelGiF and its peers alike.

A method answers "a distance matrix for these models on these references" in two stages, as captum's attribution
methods share one ``attribute`` call:

- ``signature(model, context)`` summarizes one model with one leading row per sample (a field ``(N, S, D)``, softmax
  outputs ``(N, K)``, a correlation matrix ``(N, N)``), after ``prepare(inputs, probe)`` has chosen the samples every
  model is evaluated on;
- ``compare(a, b, rows)`` turns two signatures into a distance using only the sample ``rows``.

The split lets the testbeds resample references (bootstrap intervals) and sweep the reference count without running a
model twice, and lets the CLI and the app show any method's matrix through the same call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from gifviz.config import FieldConfig
from gifviz.hub.spec import LoadedModel
from gifviz.refs import ReferenceSet

if TYPE_CHECKING:  # only ModelGiF's signatures reach the store, and only through the jobs layer
    from gifviz.errors import GifvizError
    from gifviz.hub.zoo import Zoo
    from gifviz.pipeline import ZooProgress
    from gifviz.store import FieldStore

Access = Literal["black-box", "white-box"]


@dataclasses.dataclass(frozen=True)
class MethodInputs:
    """What a method is given besides the models.

    Attributes:
        references: the probe inputs ``(N, C, H, W)``; ``labels`` are needed by label-based methods (SAC-w).
        probe: the model whose owner asks (the source in IP protection). Methods that craft their inputs from a model
            (ModelDiff's input pairs, SAC-w's misclassified samples) craft them from this one; ``None`` means the
            first model of the list.
        value_range: the input space's value range, for clamping crafted inputs.
        seed: seeds every random choice (CutMix boxes, LIME masks, perturbations).
        field: ModelGiF's field configuration (the peers ignore it).
        store: where ModelGiF keeps its fields (``None``: computed, not kept; the peers ignore it).
    """

    references: ReferenceSet
    probe: LoadedModel | None = None
    value_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    field: FieldConfig = dataclasses.field(default_factory=FieldConfig)
    store: FieldStore | None = None


@dataclasses.dataclass(frozen=True)
class Signature:
    """One model's summary.

    Attributes:
        values: one leading row per sample: ``(n, ...)``, a tensor (or an array) the method's ``compare`` indexes.
        classes: the output classes, for methods that compare outputs class by class (else ``None``).
    """

    values: torch.Tensor | np.ndarray
    classes: tuple | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DistanceMethod:
    """One distance method and what it needs.

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
        evaluations: ``(context) -> int``: model evaluations per model (forward passes, one per sample; ModelGiF's
            each with a backward pass).
        per_sample: ``(a, b) -> (n,)`` per-sample terms whose mean over ``rows`` is ``compare(a, b, rows)``, for a
            method whose comparison is costly: a run computes them once per pair and resamples them.
        zoo_signatures: ``(zoo, ids, context, progress, unread) -> {id: Signature}``, a faster way to the signatures
            of a zoo's models than loading each and calling ``signature`` (ModelGiF: the field store and its
            executors); ``unread``, when not ``None``, receives each model it cannot read (its error), and the others
            are still read.
        all_pairs: ``(signatures) -> (M, M)`` distances on all samples, faster than comparing pair by pair (ModelGiF:
            one Gram matrix).
        undefined: why the distance of two models with the same output classes can be NaN, when it can (shown in the
            audit's notes).
        share_of_samples: the distance is the share of the samples on which the two models differ (a count over
            ``N``), so it is known no more precisely than a proportion's sampling error (the audit's ``sampling``
            spread floor reads this).
        reads_references: the distance depends on the references (``False``: first-layer weights, one signature
            row that no reference changes; the testbeds then neither resample nor sweep it, and compute each pair
            once).
    """

    name: str
    title: str
    citation: str
    access: Access
    needs_labels: bool = False
    shared_outputs: bool = False
    uses_probe: bool = False
    prepare: Callable[[MethodInputs, LoadedModel | None], Any]
    signature: Callable[[LoadedModel, Any], Signature]
    compare: Callable[[Signature, Signature, np.ndarray | None], float]
    evaluations: Callable[[Any], int]
    per_sample: Callable[[Signature, Signature], np.ndarray] | None = None
    zoo_signatures: (
        Callable[[Zoo, Sequence[str], Any, ZooProgress | None, dict[str, GifvizError] | None], dict[str, Signature]]
        | None
    ) = None
    all_pairs: Callable[[Sequence[Signature]], np.ndarray] | None = None
    undefined: str = ""
    share_of_samples: bool = False
    reads_references: bool = True

    def distance(self, a: Signature, b: Signature, rows: np.ndarray | None = None) -> float:
        """The distance of two signatures on sample ``rows``; NaN where this method cannot compare them."""
        if self.shared_outputs and a.classes != b.classes:
            return float("nan")
        return float(self.compare(a, b, rows))

    def matrix(self, signatures: Sequence[Signature]) -> np.ndarray:
        """Symmetric ``(M, M)`` distances of ``signatures`` on all samples, zero diagonal."""
        if self.all_pairs is not None:
            return self.all_pairs(signatures)
        return pairwise_matrix(self, signatures)


def pairwise_matrix(method: DistanceMethod, signatures: Sequence[Signature]) -> np.ndarray:
    """Symmetric ``(M, M)`` distances over all pairs, zero diagonal.

    Peers' signatures are small (``(N,)`` vectors to ``(N, N)`` matrices), so a pair loop costs little next to the
    forward passes; the field distance, whose signatures are ``(N, S, D)``, uses one Gram matrix instead.
    """
    m = len(signatures)
    matrix = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            matrix[i, j] = matrix[j, i] = method.distance(signatures[i], signatures[j])
    return matrix
