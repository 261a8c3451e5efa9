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
from scipy.stats import rankdata

from gifviz.errors import ConfigError
from gifviz.hub.spec import ModelSpec
from gifviz.hub.zoo import Zoo
from gifviz.methods.run import MethodRun

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
    """The cases the manifest's lineage annotations define.

    Raises :class:`~gifviz.errors.ConfigError` (one line: what is missing and how to annotate it) when the zoo defines
    no case: a case needs a source, at least one model derived from it and one independent model of its task.
    """
    specs = zoo.specs
    sources = [s for s in specs if s.relation == "source"]
    cases = []
    for source in sources:
        for category in CATEGORIES:
            positives = tuple(s.id for s in specs if s.parent == source.id and s.relation == category)
            negatives = _negatives(specs, source, category)
            if positives and negatives:
                cases.append(IppCase(source.id, category, positives, negatives))
    if not cases:
        raise ConfigError(f"the IPP testbed cannot run on {zoo.name}: {_missing(specs, sources)}")
    return cases


def _negatives(specs: Sequence[ModelSpec], source: ModelSpec, category: str) -> tuple[str, ...]:
    """The models a defender must not accuse of deriving from ``source`` by ``category``."""
    if category == "transfer":
        return tuple(s.id for s in specs if s.relation == TRANSFER_NEGATIVES)
    return tuple(
        s.id
        for s in specs
        if s.task == source.task and (s.relation == "independent" or (s.relation == "source" and s != source))
    )


def _missing(specs: Sequence[ModelSpec], sources: Sequence[ModelSpec]) -> str:
    """What the manifest lacks for a first IPP case, and the annotation that supplies it."""
    attacks = ", ".join(CATEGORIES)
    if not sources:
        return (
            'no model has relation = "source"; mark the original model with relation = "source" in its [[models]] '
            f'entry, its derived models with parent = "<source id>" and relation = one of {attacks}, and models '
            'trained independently on the same task with relation = "independent"'
        )
    source_ids = {s.id for s in sources}
    derived = [s for s in specs if s.parent in source_ids and s.relation in CATEGORIES]
    if not derived:
        orphans = [s.id for s in specs if s.relation in CATEGORIES]
        hint = f" (models {', '.join(orphans)} have an attack relation but no source as parent)" if orphans else ""
        return (
            f"no model derives from source {', '.join(sorted(source_ids))}{hint}; give each derived model "
            f'parent = "<source id>" and relation = one of {attacks}'
        )
    problems = []
    for source in sources:
        children = [s for s in derived if s.parent == source.id]
        if any(s.relation != "transfer" for s in children):
            task = f'task = "{source.task}" and ' if source.task else ""
            others = [s.id for s in specs if s.relation == "independent"]
            seen = f" (independent models {', '.join(others)} have another task)" if others else ""
            problems.append(
                f"source {source.id} has derived models ({', '.join(s.id for s in children)}) but no independent "
                f'model of its task to tell them from{seen}: add a model with {task}relation = "independent"'
            )
        if any(s.relation == "transfer" for s in children):
            problems.append(
                f"source {source.id} has transfer models but no model trained independently on the transfer task: "
                'add one with relation = "transfer-independent"'
            )
    return "; ".join(problems)


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
    """ROC-AUC, or NaN when the method cannot score some pair (different output classes).

    Computed as the Mann-Whitney statistic (ties count one half), which equals scikit-learn's ``roc_auc_score``:
    the bootstrap calls this thousands of times, and the rank formula skips scikit-learn's per-call input checks.
    """
    labels_, values_ = np.asarray(labels, dtype=bool), np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values_)):
        return float("nan")
    positives = int(labels_.sum())
    negatives = labels_.size - positives
    if positives == 0 or negatives == 0:
        raise ConfigError("ROC-AUC needs at least one derived and one independent model")
    ranks = rankdata(values_)
    return float((ranks[labels_].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def category_aucs(run: MethodRun, cases: Sequence[IppCase], rows: np.ndarray | None = None) -> dict[str, float]:
    """ROC-AUC per attack category."""
    return {category: auc(*pair) for category, pair in scores(run, cases, rows).items()}
