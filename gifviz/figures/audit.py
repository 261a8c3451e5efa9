"""Audit figures: what each suspect's verdict was read on, against the independents' spread of the same value."""

from __future__ import annotations

import math

import plotly.graph_objects as go

VERDICT_COLOURS = {"derived": "#d62728", "inconclusive": "#ff7f0e", "independent": "#2ca02c", "n/a": "#7f7f7f"}
# The x axis of each calibration rule (gifviz.audit.names.CALIBRATION_RULES).
CALIBRATION_AXES = {
    "same-arch": "distance from the source minus the model's mean distance to the independents of the source's "
    "architecture (each method's scale; source flips and first-layer: raw; a suspect with other output classes: "
    "against every independent, or under the other-kinds cross-task null those of other architectures than the "
    "source's, but for first-layer)",
    "relative": "distance from the source minus the model's mean distance to the independents (each method's scale; "
    "source flips and first-layer: raw)",
    "absolute": "distance from the source (each method's own scale)",
}


def audit_spread_figure(
    distances: dict[str, dict[str, float]],
    suspects: dict[str, dict[str, str]],
    independents: list[str],
    axis_title: str = CALIBRATION_AXES["absolute"],
) -> go.Figure:
    """One row per method: the independents' values (grey) and each suspect's (coloured by that method's verdict). A
    suspect left of the grey points looks more derived than every independent.

    Args:
        distances: ``method -> model id -> value`` that the method's verdicts were read on: the distance from the
            source, or the relative distance (:mod:`gifviz.audit.reading`); NaN: the method cannot compare the pair.
        suspects: ``suspect -> method -> verdict``.
        independents: the models the distances are calibrated on.
    """
    figure = go.Figure()
    methods = list(distances)
    for method in methods:
        values = [distances[method].get(i, math.nan) for i in independents]
        shown = [(i, v) for i, v in zip(independents, values, strict=True) if math.isfinite(v)]
        figure.add_trace(
            go.Scatter(
                x=[v for _, v in shown],
                y=[method] * len(shown),
                mode="markers",
                marker={"color": "rgba(120,120,120,0.55)", "size": 11, "symbol": "line-ns-open", "line": {"width": 2}},
                name="independents",
                legendgroup="independents",
                showlegend=method == methods[0],
                hovertext=[f"{i} (independent)" for i, _ in shown],
                hoverinfo="text+x",
            )
        )
    for verdict, colour in VERDICT_COLOURS.items():
        xs, ys, texts = [], [], []
        for suspect, verdicts in suspects.items():
            for method in methods:
                distance = distances[method].get(suspect, math.nan)
                if verdicts.get(method) == verdict and math.isfinite(distance):
                    xs.append(distance)
                    ys.append(method)
                    texts.append(f"{suspect}: {verdict}")
        if xs:
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="markers",
                    marker={"color": colour, "size": 10},
                    name=verdict,
                    hovertext=texts,
                    hoverinfo="text+x",
                )
            )
    figure.update_layout(
        title="Evidence per method: suspects against the independents",
        xaxis_title=axis_title,
        yaxis={"categoryorder": "array", "categoryarray": methods[::-1]},
        height=160 + 70 * len(methods),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return figure
