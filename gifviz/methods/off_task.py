"""Off-task agreement: how often two models give the same answer on crops of natural photographs.

On task data, a model stolen with the source's labels answers like any accurate independent model, so agreement there
cannot tell them apart. On images of no class at all the answers are arbitrary, each model's own, unless one model was
trained to copy the other's answers on such images (a label-only thief without task data sends exactly those). The
distance is the disagreement rate on :data:`OFF_TASK_PROBES` crops from :mod:`gifviz.methods.natural_crops`, drawn for
the input space's shape and value range. It needs only top-1 answers, so it works for models behind a label-only API.

``off-task-kappa`` reads the same answers as agreement beyond chance (Cohen's kappa). On crops of no class, models
of a task tend to pile their answers onto a few classes, so two models that both answer "8" to most crops agree
often by chance; kappa discounts what each model's own answer frequencies explain. The stress zoos' checks show why
that can matter: an MLP that never saw the source answers nearly every crop with the same class and agrees with a CNN
source on 7% of held-out crops, CNN independents on about 63%, and an MLP that copied the source on 59%
(``checks.csv`` of stress seed 228), so raw agreement puts that thief among the CNN independents. Kappa reads such
thieves better, though not all of them, and fused into the audit's ``combined`` it did no better than raw
disagreement (benchmarks/results/round-twenty-eight/DECLARED.md): it is a method to name, not a default.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs, Signature
from gifviz.methods.natural_crops import crops_like
from gifviz.methods.peers.evaluation import select

# Enough crops that one agreement rate varies by about 2 points (binomial, p = 0.5) between draws; 512 forward passes
# per model cost well under a second on small models.
OFF_TASK_PROBES = 512


def off_task_samples(inputs: MethodInputs, probe: LoadedModel | None) -> torch.Tensor:
    """:data:`OFF_TASK_PROBES` photograph crops ``(n, C, H, W)`` of the references' shape, in the space's range."""
    return crops_like(OFF_TASK_PROBES, inputs.references.images.shape, inputs.value_range, inputs.seed)


# Why two models with the same classes can have no off-task-kappa distance (the audit's notes say it).
KAPPA_UNDEFINED = "both models give one and the same answer on every crop: no agreement beyond chance to measure"


def kappa_distance(a: Signature, b: Signature, rows: np.ndarray | None) -> float:
    """One minus Cohen's kappa of the two models' top-1 answers on the samples ``rows`` (of ``(N, K)`` outputs), in
    [0, 2]: 0 for the same answers, about 1 for answers no more alike than their frequencies make them by chance, 2
    for answers that never agree where chance would have them agree. NaN where both models give one and the same class
    on every sample (kappa's chance agreement is then 1), even for a perfect copy of such a model.

    Written here rather than with scikit-learn's ``cohen_kappa_score`` (the same value: a test holds the two together)
    because that one checks its inputs on every call, which made it ten times slower than the disagreement rate, and
    the audit compares every pair of models on every bootstrap resample."""
    x = select(a.values, rows).argmax(dim=1).numpy()
    y = select(b.values, rows).argmax(dim=1).numpy()
    classes = max(a.values.shape[1], b.values.shape[1])
    observed = float(np.mean(x == y))
    chance = float(np.bincount(x, minlength=classes) @ np.bincount(y, minlength=classes)) / len(x) ** 2
    if chance >= 1.0:
        return math.nan
    return 1.0 - (observed - chance) / (1.0 - chance)
