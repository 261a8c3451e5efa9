"""Two models on the same inputs: both maps, their difference, and where along the path and on which inputs they
disagree."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gifviz.analysis.stats import Interval
from gifviz.distance import FieldDistance


def _unit(values: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(values))
    return values / norm if norm > 0 else values


def compare_maps(map_a: np.ndarray, map_b: np.ndarray, name_a: str, name_b: str) -> go.Figure:
    """Both ``(h, w)`` maps and their difference; each map is scaled to unit norm first, as the cosine distance sees
    them, so the difference shows disagreement in shape, not in scale."""
    a, b = _unit(map_a), _unit(map_b)
    difference = a - b
    figure = make_subplots(
        rows=1, cols=3, subplot_titles=(name_a, name_b, f"{name_a} - {name_b}"), horizontal_spacing=0.03
    )
    limit = max(float(np.abs(a).max()), float(np.abs(b).max())) or 1.0
    for column, values in enumerate((a, b, difference), start=1):
        figure.add_trace(
            go.Heatmap(
                z=values,
                zmin=-limit,
                zmax=limit,
                zmid=0,
                colorscale="RdBu_r",
                showscale=column == 3,
                hovertemplate="x %{x}, y %{y}<br>%{z:.3g}<extra></extra>",
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(showticklabels=False, row=1, col=column)
        figure.update_yaxes(showticklabels=False, autorange="reversed", scaleanchor=f"x{column}", row=1, col=column)
    figure.update_layout(height=330, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def distance_curves(
    result: FieldDistance, alphas: np.ndarray, reference_names: list[str], interval: Interval | None = None
) -> go.Figure:
    """Per-step distance along the path (left) and per-input distance (right), with the overall value and its
    confidence interval as a band."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("per path step", "per reference input"), column_widths=[0.45, 0.55]
    )
    step_hover = "a=%{x:.3f}<br>distance %{y:.4f}<extra></extra>"
    figure.add_trace(
        go.Scatter(x=alphas, y=result.per_step, mode="lines+markers", name="per step", hovertemplate=step_hover),
        row=1,
        col=1,
    )
    names = reference_names or [str(i) for i in range(len(result.per_input))]
    figure.add_trace(
        go.Bar(x=names, y=result.per_input, name="per input", hovertemplate="%{x}<br>distance %{y:.4f}<extra></extra>"),
        row=1,
        col=2,
    )
    for column in (1, 2):
        figure.add_hline(y=result.value, line_dash="dash", line_color="black", row=1, col=column)
        if interval is not None:
            figure.add_hrect(
                y0=interval.low, y1=interval.high, fillcolor="grey", opacity=0.2, line_width=0, row=1, col=column
            )
    figure.update_xaxes(title_text="path node a", row=1, col=1)
    figure.update_yaxes(title_text=f"distance ({result.metric})", row=1, col=1)
    figure.update_layout(height=360, showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure
