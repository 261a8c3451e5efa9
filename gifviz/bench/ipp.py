"""Intellectual-property protection: does a method find every model derived from a source, and only those?

For each source (``relation = "source"`` in the manifest) and attack category, the positives are the models derived
from it by that attack (``parent`` = the source) and the negatives are the models a defender must not accuse:
independently trained models of the same task, including the other sources (for ``transfer``, independent models of
the transfer task). The score is the negative distance from the source; ROC-AUC is pooled over sources, so one
threshold must work for all of them (stricter than averaging per-source AUCs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from gifviz.bench.methods import MethodRun
from gifviz.errors import GifvizError
from gifviz.hub.zoo import Zoo

CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob", "extract-adv", "transfer")
TRANSFER_NEGATIVES = "transfer-independent"


@dataclasses.dataclass(frozen=True)
class IppCase:
    """One source and one attack category: derived models (positives) and innocent ones (negatives)."""

    source: str
    category: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...]


def ipp_cases(zoo: Zoo) -> list[IppCase]:
    """The cases the manifest's lineage annotations define."""
    specs = zoo.specs
    sources = [s for s in specs if s.relation == "source"]
    if not sources:
        raise GifvizError('the IPP testbed needs models with relation = "source" and models whose parent is a source')
    cases = []
    for source in sources:
        for category in CATEGORIES:
            positives = tuple(s.id for s in specs if s.parent == source.id and s.relation == category)
            if category == "transfer":
                negatives = tuple(s.id for s in specs if s.relation == TRANSFER_NEGATIVES)
            else:
                negatives = tuple(
                    s.id
                    for s in specs
                    if s.task == source.task
                    and (s.relation == "independent" or (s.relation == "source" and s != source))
                )
            if positives and negatives:
                cases.append(IppCase(source.id, category, positives, negatives))
    return cases


def scores(run: MethodRun, cases: Sequence[IppCase], rows: np.ndarray | None = None):
    """Per category: labels (1 = derived) and scores (negative distance to the source), pooled over sources."""
    pooled: dict[str, tuple[list[int], list[float]]] = {}
    for case in cases:
        labels, values = pooled.setdefault(case.category, ([], []))
        for model_id in case.positives + case.negatives:
            labels.append(int(model_id in case.positives))
            values.append(-run.distance(case.source, model_id, rows))
    return pooled


def auc(labels: Sequence[int], values: Sequence[float]) -> float:
    """ROC-AUC, or NaN when the method cannot score some pair (different output classes)."""
    if not np.all(np.isfinite(values)):
        return float("nan")
    return float(roc_auc_score(labels, values))


def category_aucs(run: MethodRun, cases: Sequence[IppCase], rows: np.ndarray | None = None) -> dict[str, float]:
    """ROC-AUC per attack category."""
    return {category: auc(*pair) for category, pair in scores(run, cases, rows).items()}
