"""One model's field on one input: the input image with the field map over it, signed (diverging colours)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots

from gifviz.field.result import Field


def field_map(field: Field, image_index: int, step: int, channel: int | None = None) -> np.ndarray:
    """``(h, w)`` map of input ``image_index`` at path step ``step`` (0-based): channel mean, or one channel."""
    maps = field.maps()[image_index, step]  # (c, h, w)
    selected = maps.mean(dim=0) if channel is None else maps[channel]
    return selected.numpy()


def upsample(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """A pooled map brought to the image's grid (nearest: each pooled cell covers its block)."""
    if values.shape == (height, width):
        return values
    tensor = torch.from_numpy(np.ascontiguousarray(values))[None, None]
    return F.interpolate(tensor, size=(height, width), mode="nearest")[0, 0].numpy()


def _image_rgb(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] -> ``(H, W, 3)`` uint8."""
    pixels = np.clip(image, 0, 1)
    pixels = np.repeat(pixels, 3, axis=0) if pixels.shape[0] == 1 else pixels[:3]
    return (pixels.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def _signed_heatmap(values: np.ndarray, name: str, opacity: float = 1.0, show_scale: bool = True) -> go.Heatmap:
    limit = float(np.abs(values).max()) or 1.0
    return go.Heatmap(
        z=values,
        zmin=-limit,
        zmax=limit,
        zmid=0.0,
        colorscale="RdBu_r",
        opacity=opacity,
        name=name,
        showscale=show_scale,
        hovertemplate="x %{x}, y %{y}<br>field %{z:.3g}<extra>" + name + "</extra>",
    )


def field_overlay(image: np.ndarray, values: np.ndarray, title: str, opacity: float = 0.65) -> go.Figure:
    """The input ``(C, H, W)`` beside the same input with the signed field map ``(h, w)`` over it."""
    height, width = image.shape[-2:]
    grid = upsample(values, height, width)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("input", "field over input"), horizontal_spacing=0.05)
    rgb = _image_rgb(image)
    figure.add_trace(go.Image(z=rgb, hoverinfo="skip"), row=1, col=1)
    figure.add_trace(go.Image(z=rgb, hoverinfo="skip"), row=1, col=2)
    figure.add_trace(_signed_heatmap(grid, "field", opacity), row=1, col=2)
    for column in (1, 2):
        figure.update_xaxes(showticklabels=False, row=1, col=column)
        figure.update_yaxes(showticklabels=False, autorange="reversed", scaleanchor=f"x{column}", row=1, col=column)
    figure.update_layout(title=title, height=380, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return figure


def field_steps(field: Field, image_index: int, steps: list[int], channel: int | None = None) -> go.Figure:
    """The map of one input at several path steps, side by side, on one symmetric colour scale."""
    maps = [field_map(field, image_index, step, channel) for step in steps]
    limit = max(float(np.abs(m).max()) for m in maps) or 1.0
    alphas = field.alphas.numpy()
    figure = make_subplots(
        rows=1, cols=len(steps), subplot_titles=[f"a={alphas[s]:.2f}" for s in steps], horizontal_spacing=0.02
    )
    for position, values in enumerate(maps, start=1):
        trace = _signed_heatmap(values, f"step {steps[position - 1] + 1}", show_scale=position == len(steps))
        trace.update(zmin=-limit, zmax=limit)
        figure.add_trace(trace, row=1, col=position)
        figure.update_xaxes(showticklabels=False, row=1, col=position)
        figure.update_yaxes(showticklabels=False, autorange="reversed", row=1, col=position)
    figure.update_layout(title="along the path", height=260, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return figure


def field_animation(field: Field, image_index: int, channel: int | None = None) -> go.Figure:
    """The map of one input along the whole path as an animation (play button and step slider)."""
    steps = field.shape[1]
    maps = [field_map(field, image_index, step, channel) for step in range(steps)]
    limit = max(float(np.abs(m).max()) for m in maps) or 1.0
    alphas = field.alphas.numpy()

    def heatmap(values: np.ndarray) -> go.Heatmap:
        trace = _signed_heatmap(values, "field")
        trace.update(zmin=-limit, zmax=limit)
        return trace

    frames = [go.Frame(data=[heatmap(values)], name=str(step)) for step, values in enumerate(maps)]
    figure = go.Figure(data=[heatmap(maps[0])], frames=frames)
    figure.update_layout(
        height=420,
        yaxis={"autorange": "reversed", "scaleanchor": "x", "showticklabels": False},
        xaxis={"showticklabels": False},
        updatemenus=[
            {
                "type": "buttons",
                "showactive": False,
                "x": 0.0,
                "y": -0.05,
                "buttons": [
                    {
                        "label": "play",
                        "method": "animate",
                        "args": [None, {"frame": {"duration": 250}, "fromcurrent": True}],
                    }
                ],
            }
        ],
        sliders=[
            {
                "steps": [
                    {"label": f"{alphas[s]:.2f}", "method": "animate", "args": [[str(s)], {"mode": "immediate"}]}
                    for s in range(steps)
                ],
                "currentvalue": {"prefix": "a = "},
            }
        ],
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure
