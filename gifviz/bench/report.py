"""Testbed results as tables a reader can scan: methods as rows, metrics as columns, ``value [low, high]`` cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gifviz.bench.suite import BenchResult

# The metric each testbed's sweep is shown for: the one where the reference count matters most.
SWEEP_METRIC = {"ipp": "extract-prob", "tasks": "spearman", "unlearning": "unlearned caught"}


def cell(value: float, low: float, high: float, digits: int = 2) -> str:
    """``0.95 [0.90, 1.00]``; ``n/a`` where the method cannot score (different output classes)."""
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def summary(result: BenchResult, intervals: bool = True) -> pd.DataFrame:
    """``(methods, metrics + cost)`` table of formatted cells, methods in run order."""
    table = result.table
    order = list(dict.fromkeys(table["method"]))
    metrics = list(dict.fromkeys(table["metric"]))
    cells = table.assign(
        text=[cell(v, lo, hi) if intervals else cell(v, np.nan, np.nan) for v, lo, hi in
              zip(table["value"], table["low"], table["high"], strict=True)]
    ).pivot(index="method", columns="metric", values="text")  # fmt: skip
    cost_columns = ["samples", "evaluations per model", "seconds"]
    if "note" in table and table["note"].astype(bool).any():
        cost_columns.append("note")
    cost = table.groupby("method")[cost_columns].first()
    out = cells[metrics].join(cost).loc[order]
    out.index = [table.loc[table["method"] == m, "title"].iloc[0] for m in order]
    out.index.name = "method"
    return out


def sweep_table(result: BenchResult, metric: str) -> pd.DataFrame:
    """``(methods, reference counts)`` values of one metric."""
    rows = result.sweep[result.sweep["metric"] == metric]
    order = list(dict.fromkeys(rows["method"]))
    return rows.pivot(index="method", columns="samples", values="value").loc[order]


def write_csvs(result: BenchResult, folder: str | Path) -> list[Path]:
    """``<testbed>.csv`` (long table with intervals and cost), ``<testbed>_sweep.csv``, ``<testbed>_details.csv``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, frame in (("", result.table), ("_sweep", result.sweep), ("_details", result.details)):
        path = folder / f"{result.testbed}{suffix}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths
