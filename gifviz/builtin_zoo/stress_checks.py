"""A stress zoo's own sanity checks, properties of the zoo and of no distance method: how often each model predicts
what its source predicts, on the test digits and on natural images no thief queried, against how often independent
models do. A derived model that agrees with its source no more than independents do would not be derived in any
sense a method could detect; the build reports these numbers and never scores a method.

Models of the transfer task are compared with their source's digit prediction mapped to that task (a source that
says 7 says odd).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress_data import task_labels

NEGATIVE_RELATIONS = ("independent", "transfer-independent")
CHECK_COLUMNS = (
    "model",
    "relation",
    "data",
    "arch",
    "task",
    "parent",
    "accuracy",
    "agreement_test",
    "agreement_natural",
)


@dataclasses.dataclass(frozen=True)
class Predictions:
    """One model's predicted classes on the test digits ``(N,)`` and on held-out natural images ``(M,)``."""

    test: torch.Tensor
    natural: torch.Tensor


def _agreement(mine: torch.Tensor, source_digits: torch.Tensor, task: str) -> float:
    return float((mine == task_labels(source_digits)[task]).float().mean())


def agreement_rows(
    recipes: Sequence[Recipe], predictions: dict[str, Predictions], accuracies: dict[str, float]
) -> list[dict[str, object]]:
    """One row per non-source model (:data:`CHECK_COLUMNS`): agreement with its parent, or for a negative model the
    mean agreement with the sources."""
    sources = [r.id for r in recipes if r.relation == "source"]
    rows = []
    for recipe in recipes:
        if recipe.relation == "source":
            continue
        compared = [recipe.parent] if recipe.parent else sources
        mine = predictions[recipe.id]
        test = sum(_agreement(mine.test, predictions[s].test, recipe.task) for s in compared) / len(compared)
        natural = sum(_agreement(mine.natural, predictions[s].natural, recipe.task) for s in compared) / len(compared)
        rows.append(
            {
                "model": recipe.id,
                "relation": recipe.relation,
                "data": recipe.params.get("data", ""),
                "arch": recipe.arch,
                "task": recipe.task,
                "parent": recipe.parent or "",
                "accuracy": round(accuracies[recipe.id], 4),
                "agreement_test": round(test, 4),
                "agreement_natural": round(natural, 4),
            }
        )
    return rows


def _above_same_architecture(
    members: Sequence[dict[str, object]], negatives: Sequence[dict[str, object]], column: str
) -> str:
    """``"k/n"``: of the ``n`` derived models with a negative model of their own architecture, the ``k`` that agree
    with their source more than every such negative does. Architectures differ off the task (an MLP answers natural
    images unlike any CNN), so this compares a thief with the innocent models most like it."""
    compared = above = 0
    for member in members:
        same = [float(r[column]) for r in negatives if r["arch"] == member["arch"]]
        if same:
            compared += 1
            above += int(float(member[column]) > max(same))
    return f"{above}/{compared}"


def agreement_summary(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Per group of derived models (relation, and for thieves the data they queried): their mean and lowest agreement
    with the source beside the mean and highest agreement of the negative models of the same task with a source;
    ``separated`` is true when every derived model agrees more than every negative one, and ``above_same_arch`` counts
    those that agree more than every negative of their own architecture (on the test digits, and on natural
    images)."""
    summary = []
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for row in rows:
        if row["relation"] not in NEGATIVE_RELATIONS:
            data = str(row["data"]) if str(row["relation"]).startswith("extract") else ""
            groups.setdefault((str(row["relation"]), data, str(row["task"])), []).append(row)
    for (relation, data, task), members in groups.items():
        negatives = [r for r in rows if r["relation"] in NEGATIVE_RELATIONS and r["task"] == task]
        entry: dict[str, object] = {"group": f"{relation} ({data})" if data else relation, "models": len(members)}
        for where in ("test", "natural"):
            column = f"agreement_{where}"
            values = [float(r[column]) for r in members]
            negative_values = [float(r[column]) for r in negatives]
            low, high_negative = min(values), max(negative_values, default=float("nan"))
            entry[f"mean_{where}"] = round(sum(values) / len(values), 4)
            entry[f"min_{where}"] = round(low, 4)
            entry[f"negatives_mean_{where}"] = (
                round(sum(negative_values) / len(negative_values), 4) if negative_values else float("nan")
            )
            entry[f"negatives_max_{where}"] = round(high_negative, 4)
            entry[f"separated_{where}"] = bool(low > high_negative)
            entry[f"above_same_arch_{where}"] = _above_same_architecture(members, negatives, column)
        summary.append(entry)
    return summary
