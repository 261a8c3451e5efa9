"""Model space: embedding scatter plots and the dendrogram."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.express as px
import plotly.figure_factory as ff
import plotly.graph_objects as go

from gifviz.analysis.clustering import Clustering
from gifviz.analysis.embedding import Embedding


def embedding_scatter(embedding: Embedding, colour: Mapping[str, object], colour_name: str) -> go.Figure:
    """2-D or 3-D scatter of the models, coloured by one property (relation, task, architecture, a tag)."""
    points = embedding.coordinates
    data = {
        "model": list(embedding.labels),
        colour_name: [str(colour.get(label, "-")) for label in embedding.labels],
        "x": points[:, 0],
        "y": points[:, 1],
    }
    title = f"Model space ({embedding.method.upper()}, {points.shape[1]}-D)"
    if points.shape[1] == 3:
        data["z"] = points[:, 2]
        figure = px.scatter_3d(data, x="x", y="y", z="z", color=colour_name, hover_name="model", title=title)
        figure.update_traces(marker={"size": 5})
    else:
        figure = px.scatter(data, x="x", y="y", color=colour_name, hover_name="model", title=title)
        figure.update_traces(marker={"size": 11, "line": {"width": 1, "color": "white"}})
    figure.update_layout(height=560, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def dendrogram_figure(clustering: Clustering, threshold: float | None = None) -> go.Figure:
    """The clustering's dendrogram (plotly's figure factory fed the precomputed linkage), with the cut line."""
    count = len(clustering.labels)
    figure = ff.create_dendrogram(
        np.zeros((count, 1)),  # placeholder observations: the linkage below is what is drawn
        orientation="bottom",
        labels=list(clustering.labels),
        linkagefun=lambda _condensed: clustering.linkage,
        color_threshold=threshold,
    )
    if threshold is not None:
        figure.add_hline(y=threshold, line_dash="dash", line_color="red", annotation_text=f"cut {threshold:.3f}")
    figure.update_layout(
        title=f"Hierarchical clustering ({clustering.method} linkage)",
        height=520,
        yaxis_title="distance",
        xaxis={"tickangle": -60, "tickfont": {"size": 10}},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure
