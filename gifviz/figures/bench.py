"""Testbed figures: ROC curves, the reference sweep, task affinity heatmaps and unlearning distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sklearn.metrics import roc_curve

from gifviz.bench.task_relatedness import task_distance_matrix


def roc_figure(details: pd.DataFrame, category: str) -> go.Figure:
    """ROC curves of one attack category, one line per method (methods that cannot score it are left out).

    ``details``: the IPP testbed's per-model rows (method, category, derived, distance).
    """
    figure = go.Figure()
    rows = details[details["category"] == category]
    for method, group in rows.groupby("method", sort=False):
        if not group["distance"].notna().all():
            continue
        fpr, tpr, _ = roc_curve(group["derived"].astype(int), -group["distance"])
        figure.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=str(method), line={"shape": "hv"}))
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dot", "color": "grey"}))
    figure.update_layout(
        title=f"ROC: {category}",
        xaxis_title="false-positive rate",
        yaxis_title="true-positive rate",
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    figure.update_xaxes(range=[-0.02, 1.02])
    figure.update_yaxes(range=[-0.02, 1.02])
    return figure


def sweep_figure(sweep: pd.DataFrame, metric: str) -> go.Figure:
    """One metric against the number of references (log scale), one line per method."""
    rows = sweep[sweep["metric"] == metric]
    figure = px.line(
        rows,
        x="samples",
        y="value",
        color="method",
        markers=True,
        log_x=True,
        title=f"{metric} against the number of references",
    )
    figure.update_layout(
        xaxis_title="references N", yaxis_title=metric, height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10}
    )
    return figure


def affinity_figure(details: pd.DataFrame, method: str) -> go.Figure:
    """Side by side: the method's task affinity (negative distance) and the ground-truth transferability."""
    distances = task_distance_matrix(details, method)
    tasks = list(distances.labels)
    rows = details[details["method"] == method]
    truth = rows.pivot(index="source task", columns="target task", values="transferability").loc[tasks, tasks]
    figure = make_subplots(rows=1, cols=2, subplot_titles=(f"{method}: distance", "transferability (ground truth)"))
    figure.add_trace(
        go.Heatmap(
            z=distances.values,
            x=tasks,
            y=tasks,
            colorscale="Viridis_r",
            showscale=False,
            hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
        ),
        1,
        1,
    )
    figure.add_trace(
        go.Heatmap(
            z=truth.to_numpy(),
            x=tasks,
            y=tasks,
            colorscale="Viridis",
            showscale=False,
            hovertemplate="%{y} -> %{x}: %{z:.3f}<extra></extra>",
        ),
        1,
        2,
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def unlearning_figure(details: pd.DataFrame) -> go.Figure:
    """Distance from the reference for each model, grouped by method and coloured by group."""
    rows = details[np.isfinite(details["distance"])]
    figure = px.strip(
        rows,
        x="method",
        y="distance",
        color="group",
        hover_name="model",
        category_orders={"group": ["unlearned", "retrained", "unrelated"]},
        title="Distance from the original model",
    )
    figure.update_layout(height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure
