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

from gifviz.distance import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods.run import MethodRun


@dataclasses.dataclass(frozen=True)
class TaskSet:
    """One model per task and the transferability matrix ``(T, T)`` between their tasks (rows: source)."""

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    transferability: np.ndarray


MIN_TASKS = 3  # with two tasks each target has one other task: nothing to rank, so no Spearman


def task_set(zoo: Zoo) -> TaskSet:
    """The task family's models and the manifest's transferability CSV (``[data] transferability``).

    Raises :class:`~gifviz.errors.ConfigError`, one line naming every missing piece and its annotation, when the zoo
    lacks the matrix, has fewer than three task models in it, or names one task twice.
    """
    by_task: dict[str, list[str]] = {}
    for spec in zoo.specs:
        if spec.relation == "task":
            by_task.setdefault(spec.task or "", []).append(spec.id)
    missing = []
    unnamed = by_task.pop("", [])
    if unnamed:
        missing.append(f'task models {", ".join(unnamed)} name no task: give each task = "<task name>"')
    doubled = {t: ids for t, ids in by_task.items() if len(ids) > 1}
    if doubled:
        missing.extend(
            f'task {t!r} has {len(ids)} task models ({", ".join(ids)}): keep relation = "task" on one'
            for t, ids in doubled.items()
        )
    name = zoo.manifest.data.get("transferability")
    table = None
    if not name:
        missing.append(
            'a transferability matrix: name a CSV in the manifest, [data] transferability = "transferability.csv" '
            "(first column and header: task names; rows: source task, columns: target task)"
        )
    else:
        table = _read_transferability(Path(zoo.manifest.root) / str(name))
    known = set(by_task) if table is None else set(by_task) & set(table.index) & set(table.columns)
    if len(known) < MIN_TASKS:
        where = "" if table is None else " that the transferability matrix also names"
        missing.append(
            f'at least {MIN_TASKS} task models{where}, one per task, each with relation = "task" and task = '
            f'"<task name>" (found {len(known)}: {", ".join(sorted(known)) or "none"})'
        )
    if missing:
        raise ConfigError(f"the task-relatedness testbed cannot run on {zoo.name}: needs " + "; ".join(missing))
    tasks = tuple(t for t in table.index if t in known)
    matrix = table.loc[list(tasks), list(tasks)].to_numpy()
    return TaskSet(tuple(by_task[t][0] for t in tasks), tasks, matrix)


def _read_transferability(path: Path) -> pd.DataFrame:
    """The ``(T, T)`` matrix of a transferability CSV, all finite numbers."""
    try:
        table = pd.read_csv(path, index_col=0)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the transferability matrix {path}: {error}") from None
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    values = table.apply(pd.to_numeric, errors="coerce")
    if table.empty or not np.isfinite(values.to_numpy(dtype=float)).all():
        raise ConfigError(
            f"the transferability matrix {path} must hold a number in every cell (first column and header: task names)"
        )
    return values.astype(float)


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
