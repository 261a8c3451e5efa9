"""Unlearning verification: does an "unlearned" model still sit next to the original, or where a model retrained
without the forgotten data would be?

Groups come from the manifest's unlearning family: the ``reference`` (trained on everything), ``retrained`` (trained
again without the forget class: the gold standard of unlearning), ``unlearned`` (approximately unlearned copies of the
reference) and ``unrelated`` models. A verifier that trusts the retrained models as the picture of genuine
unlearning gives each model a verdict: "like retraining" when it is at least as far from the reference as the
closest retrained model, "close to the original" otherwise. The expected order is unlearned < retrained < unrelated.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods.run import MethodRun

GROUPS = ("unlearned", "retrained", "unrelated")


@dataclasses.dataclass(frozen=True)
class UnlearningSet:
    reference: str
    groups: dict[str, tuple[str, ...]]

    @property
    def models(self) -> tuple[str, ...]:
        return (self.reference, *(m for g in GROUPS for m in self.groups[g]))


ROLES = ("reference", *GROUPS)


def unlearning_set(zoo: Zoo) -> UnlearningSet:
    """The unlearning family's original (``relation = "reference"``) and its groups.

    Raises :class:`~gifviz.errors.ConfigError`, one line naming each missing role and its annotation, unless the
    family has exactly one original, at least one unlearned and at least one retrained model (``unrelated`` models
    are optional: without them the expected order cannot be checked).
    """
    specs = [s for s in zoo.specs if s.extra.get("family") == "unlearning"]
    references = [s.id for s in specs if s.relation == "reference"]
    groups = {g: tuple(s.id for s in specs if s.relation == g) for g in GROUPS}
    missing = []
    if len(references) != 1:
        found = f" (found {len(references)}: {', '.join(references)})" if references else ""
        missing.append(f'exactly one original model, marked relation = "reference"{found}')
    if not groups["unlearned"]:
        missing.append('the candidates to check, marked relation = "unlearned"')
    if not groups["retrained"]:
        missing.append('at least one model retrained without the forgotten data, marked relation = "retrained"')
    if missing:
        unmarked = [s.id for s in zoo.specs if s.relation in ROLES and s.extra.get("family") != "unlearning"]
        hint = f" (models {', '.join(unmarked)} have such a relation but not the family)" if unmarked else ""
        raise ConfigError(
            f'the unlearning testbed cannot run on {zoo.name}: needs, among models with family = "unlearning"{hint}, '
            + "; ".join(missing)
        )
    return UnlearningSet(references[0], groups)


def _mean(values: np.ndarray) -> float:
    """Mean of a group's distances; NaN for an empty group or a distance the method cannot give."""
    return float(np.mean(values)) if values.size and np.all(np.isfinite(values)) else float("nan")


def group_distances(run: MethodRun, bench: UnlearningSet, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Distances from the reference to each member of each group."""
    return {g: np.array([run.distance(bench.reference, m, rows) for m in bench.groups[g]]) for g in GROUPS}


def unlearning_scores(run: MethodRun, bench: UnlearningSet, rows: np.ndarray | None = None) -> dict[str, float]:
    """Group means, whether the expected order holds, and how many unlearned models the verdict catches."""
    distances = group_distances(run, bench, rows)
    means = {f"mean {g}": _mean(d) for g, d in distances.items()}
    threshold = float(np.min(distances["retrained"]))
    caught = float(np.mean(distances["unlearned"] < threshold)) if np.isfinite(threshold) else float("nan")
    order = [means[f"mean {g}"] for g in GROUPS]
    ordered = float(order[0] < order[1] < order[2]) if np.all(np.isfinite(order)) else float("nan")
    return {**means, "order holds": ordered, "unlearned caught": caught}


def verdicts(run: MethodRun, bench: UnlearningSet) -> list[dict[str, object]]:
    """One row per model: group, distance to the reference, and the verdict."""
    distances = group_distances(run, bench)
    threshold = float(np.min(distances["retrained"]))
    rows = []
    for group in GROUPS:
        for model_id, value in zip(bench.groups[group], distances[group], strict=True):
            verdict = (
                "n/a"
                if not np.isfinite(value)
                else ("like retraining" if value >= threshold else "close to the original")
            )
            rows.append(
                {"method": run.name, "model": model_id, "group": group, "distance": float(value), "verdict": verdict}
            )
    return rows


def verdict_shares(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The share of right verdicts per group (columns :data:`GROUPS`) and the balanced accuracy (``balanced``: the
    mean of the unlearned and the retrained groups' shares, unlearning round one's criterion per zoo), one row per
    ``(method, rule, zoo)`` of ``verdicts`` (columns ``method``, ``rule``, ``zoo``, ``group``, ``right``, as
    ``benchmarks/unlearning_rules.py`` writes them). A group a zoo lacks is NaN there, and so is its balanced
    accuracy."""
    shares = verdicts.groupby(["method", "rule", "zoo", "group"])["right"].mean().unstack("group")
    shares = shares.reindex(columns=list(GROUPS))
    shares["balanced"] = (shares["unlearned"] + shares["retrained"]) / 2
    return shares
