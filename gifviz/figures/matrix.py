"""The distance matrix as a heatmap, ordered by a clustering, with both ids, the value and their tags on hover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from gifviz.distance import DistanceMatrix


def _tag_text(tags: Mapping[str, object] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((tags or {}).items())) or "no tags"


def distance_heatmap(
    matrix: DistanceMatrix,
    order: Sequence[str] | None = None,
    tags: Mapping[str, Mapping[str, object]] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Heatmap of ``matrix`` (rows and columns in ``order``, default as stored); hover: row id, column id, value,
    and each model's tags."""
    shown = matrix.subset(list(order)) if order is not None else matrix
    labels = list(shown.labels)
    tags = tags or {}
    hover = np.empty((len(labels), len(labels), 2), dtype=object)
    for i, row in enumerate(labels):
        for j, column in enumerate(labels):
            hover[i, j, 0] = _tag_text(tags.get(row))
            hover[i, j, 1] = _tag_text(tags.get(column))
    figure = go.Figure(
        go.Heatmap(
            z=shown.values,
            x=labels,
            y=labels,
            customdata=hover,
            colorscale="Viridis",
            reversescale=True,
            zmin=0.0,
            colorbar={"title": {"text": "distance"}},
            hovertemplate="<b>%{y}</b> vs <b>%{x}</b><br>distance %{z:.4f}<br>%{y}: %{customdata[0]}"
            "<br>%{x}: %{customdata[1]}<extra></extra>",
        )
    )
    size = max(420, min(1100, 18 * len(labels) + 200))
    figure.update_layout(
        title=title or f"ModelGiF distance ({shown.metric})",
        height=size,
        # dtick=1: every model keeps its label, however many there are.
        yaxis={"autorange": "reversed", "scaleanchor": "x", "tickfont": {"size": 10}, "dtick": 1},
        xaxis={"tickangle": -60, "tickfont": {"size": 10}, "dtick": 1},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure
