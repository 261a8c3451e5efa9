"""Testbed results as tables a reader can scan: methods as rows, metrics as columns, ``value [low, high]`` cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gifviz.bench.suite import BenchResult
from gifviz.outputs import write_files

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
        text=[
            cell(v, lo, hi) if intervals else cell(v, np.nan, np.nan)
            for v, lo, hi in zip(table["value"], table["low"], table["high"], strict=True)
        ]
    ).pivot(index="method", columns="metric", values="text")
    cost_columns = ["samples", "evaluations per model", "seconds"]
    # why a method could not run at all, and the models it could not read while it read the others
    cost_columns += [c for c in ("note", "unread") if c in table and table[c].astype(bool).any()]
    cost = table.groupby("method")[cost_columns].first()
    out = cells[metrics].join(cost).loc[order]
    out.index = [table.loc[table["method"] == m, "title"].iloc[0] for m in order]
    out.index.name = "method"
    return out


def sweep_table(result: BenchResult, metric: str) -> pd.DataFrame:
    """``(methods, reference counts)`` values of one metric (empty when the sweep has no row for it)."""
    rows = result.sweep[result.sweep["metric"] == metric] if "metric" in result.sweep else result.sweep
    order = list(dict.fromkeys(rows["method"])) if "method" in rows else []
    if not order:
        return pd.DataFrame()
    return rows.pivot(index="method", columns="samples", values="value").loc[order]


def sweep_metric(result: BenchResult) -> str | None:
    """The metric to show the sweep for: the testbed's usual one (:data:`SWEEP_METRIC`) when the run scored it, else
    the first metric it did score (a user's zoo may have only fine-tuned children: no ``extract-prob``); ``None``
    when the sweep is empty."""
    metrics = list(dict.fromkeys(result.sweep["metric"])) if "metric" in result.sweep else []
    preferred = SWEEP_METRIC.get(result.testbed)
    return preferred if preferred in metrics else (metrics[0] if metrics else None)


def _any_ran(result: BenchResult) -> bool:
    """Whether some method ran (a method that could not run has a note saying why; with no reference read, one
    that did is first-layer weights)."""
    return "note" in result.table and bool((result.table["note"].fillna("") == "").any())


def headline(result: BenchResult) -> str:
    """One line saying the N the main table really used: ``ipp: main table at N=8 (128 asked; 8 references)``."""
    head = f"{result.testbed}: {result.available} references available, "
    if result.n_used == 0:
        if _any_ran(result):  # only methods that read no reference ran (first-layer weights)
            return head + "main table read no reference (its methods compare weights)"
        return head + "no method could run (the table's notes say why)"
    text = head + f"main table at N={result.n_used}"
    if result.requested and result.requested != result.n_used:
        text += f" ({result.requested} asked)"
    samples = result.table.groupby("title", sort=False)["samples"].first()
    fewer = samples[(samples > 0) & (samples < result.n_used)]
    if len(fewer):
        text += "; fewer samples for " + ", ".join(f"{title} (N={n})" for title, n in fewer.items())
    return text


def sweep_text(result: BenchResult, metric: str | None = None) -> str:
    """The reference-count sweep as text: a title line and a ``(methods, counts)`` table, or one line starting
    ``no sweep:`` that says why there is none (never a bare "Empty DataFrame")."""
    metric = metric or sweep_metric(result)
    table = sweep_table(result, metric) if metric else pd.DataFrame()
    if table.empty:
        if result.n_used == 0 and _any_ran(result):
            return f"{result.testbed}: no sweep: its methods read no reference (they compare weights)"
        if result.n_used == 0:
            return f"{result.testbed}: no sweep: no method could run on these models (the table's notes say why)"
        if metric:
            return f"{result.testbed}: no sweep: no method scored {metric!r}"
        return f"{result.testbed}: no sweep: no reference counts were asked for"
    title = f"{result.testbed}: {metric} against the number of references"
    capped = [count for count in result.sweep_counts if count > max(table.columns)]
    if capped:
        title += f" (counts {', '.join(map(str, capped))} capped at the {max(table.columns)} samples there are)"
    return title + "\n" + table.round(3).to_string()


def write_csvs(result: BenchResult, folder: str | Path) -> list[Path]:
    """``<testbed>.csv`` (long table with intervals and cost), ``<testbed>_sweep.csv``, ``<testbed>_details.csv``."""
    folder = Path(folder)
    tables = (("", result.table), ("_sweep", result.sweep), ("_details", result.details))
    # All three or none (atomic, gifviz.outputs): a failed write never leaves tables of two different runs.
    return write_files(
        {folder / f"{result.testbed}{suffix}.csv": frame.to_csv(index=False) for suffix, frame in tables}
    )
