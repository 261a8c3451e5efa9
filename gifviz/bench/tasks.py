"""Task relatedness: do model distances rank source tasks the way transfer learning does?

Ground truth is the zoo's transferability matrix (rows: source task, columns: target task; the built-in zoo's comes
from linear probes on frozen features). For each target task, the other task models are ranked by negative distance
to the target's model; the score is the Spearman correlation with the target's transferability column (diagonal
excluded), averaged over targets, plus precision and recall at K against the target's relevant sources (those at or
above the column's median transferability).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from gifviz.bench.methods import MethodRun
from gifviz.errors import GifvizError
from gifviz.hub.zoo import Zoo
from gifviz.matrix import DistanceMatrix


@dataclasses.dataclass(frozen=True)
class TaskSet:
    """One model per task and the transferability matrix ``(T, T)`` between their tasks (rows: source)."""

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    transferability: np.ndarray


def task_set(zoo: Zoo) -> TaskSet:
    """The task family's models and the manifest's transferability CSV (``[data] transferability``)."""
    name = zoo.manifest.data.get("transferability")
    if not name:
        raise GifvizError("the task-relatedness testbed needs a transferability CSV named in the manifest's [data]")
    path = Path(zoo.manifest.root) / name
    try:
        table = pd.read_csv(path, index_col=0)
    except (OSError, ValueError) as error:
        raise GifvizError(f"cannot read the transferability matrix {path}: {error}") from None
    by_task = {s.task: s.id for s in zoo.specs if s.relation == "task"}
    tasks = tuple(t for t in table.index if t in by_task)
    if len(tasks) < 3:
        raise GifvizError(f"the task-relatedness testbed needs at least 3 task models; found {sorted(by_task)}")
    matrix = table.loc[list(tasks), list(tasks)].to_numpy(dtype=float)
    return TaskSet(tuple(by_task[t] for t in tasks), tasks, matrix)


def affinity(run: MethodRun, tasks: TaskSet, rows: np.ndarray | None = None) -> np.ndarray:
    """``(T, T)`` distances between the task models."""
    n = len(tasks.models)
    return np.array([[run.distance(tasks.models[i], tasks.models[j], rows) for j in range(n)] for i in range(n)])


def relatedness(distances: np.ndarray, truth: np.ndarray, k: int = 2) -> dict[str, float]:
    """Mean Spearman, P@K and R@K over target tasks; NaN when a distance is missing."""
    if not np.all(np.isfinite(distances)):
        return {"spearman": float("nan"), f"P@{k}": float("nan"), f"R@{k}": float("nan")}
    rhos, precisions, recalls = [], [], []
    for target in range(len(truth)):
        others = [s for s in range(len(truth)) if s != target]
        predicted = -distances[others, target]
        actual = truth[others, target]
        rhos.append(spearmanr(predicted, actual).statistic)
        relevant = {others[i] for i in np.flatnonzero(actual >= np.median(actual))}
        top = {others[i] for i in np.argsort(-predicted, kind="stable")[:k]}
        precisions.append(len(top & relevant) / k)
        recalls.append(len(top & relevant) / len(relevant))
    return {"spearman": float(np.mean(rhos)), f"P@{k}": float(np.mean(precisions)), f"R@{k}": float(np.mean(recalls))}


def task_scores(run: MethodRun, tasks: TaskSet, rows: np.ndarray | None = None, k: int = 2) -> dict[str, float]:
    return relatedness(affinity(run, tasks, rows), tasks.transferability, k)


def task_distance_matrix(details: pd.DataFrame, method: str) -> DistanceMatrix:
    """The method's ``(T, T)`` distances between task models, labelled by task, from a task testbed's details."""
    rows = details[details["method"] == method]
    order = list(dict.fromkeys(rows["source task"]))
    values = rows.pivot(index="source task", columns="target task", values="distance").loc[order, order].to_numpy()
    return DistanceMatrix(tuple(order), (values + values.T) / 2.0, metric=method)
