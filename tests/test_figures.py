"""Plot builders return plotly figures with the right data and labels, without Streamlit."""

from __future__ import annotations

import numpy as np
import torch
from conftest import make_cnn

from gifviz import FieldConfig, compute_field, field_distance
from gifviz.analysis.clustering import cluster
from gifviz.analysis.embedding import embed
from gifviz.analysis.stats import bootstrap_mean
from gifviz.distance import DistanceMatrix
from gifviz.figures.compare import compare_maps, distance_curves
from gifviz.figures.fields import field_map, field_overlay, field_steps
from gifviz.figures.matrix import distance_heatmap
from gifviz.figures.space import dendrogram_figure, embedding_scatter


def matrix() -> DistanceMatrix:
    values = np.array([[0, 0.1, 0.8], [0.1, 0, 0.7], [0.8, 0.7, 0]])
    return DistanceMatrix(("src", "ft", "other"), values)


def test_heatmap_is_ordered_and_hover_names_both_models_and_tags():
    figure = distance_heatmap(matrix(), order=["other", "src", "ft"], tags={"src": {"relation": "source"}})
    heatmap = figure.data[0]
    assert list(heatmap.x) == ["other", "src", "ft"] and list(heatmap.y) == ["other", "src", "ft"]
    assert heatmap.z[1][2] == 0.1 and heatmap.z[0][1] == 0.8
    assert "%{y}</b> vs <b>%{x}" in heatmap.hovertemplate
    assert heatmap.customdata[1][0][0] == "relation=source"


def test_field_figures():
    inputs = torch.rand(2, 3, 16, 16)
    field = compute_field(make_cnn(0, channels=3), inputs, FieldConfig(steps=4, pool=(4, 4)))
    values = field_map(field, 1, 3)
    assert values.shape == (4, 4)
    overlay = field_overlay(inputs[1].numpy(), values, "m on x1")
    heatmap = next(trace for trace in overlay.data if trace.type == "heatmap")
    assert np.asarray(heatmap.z).shape == (16, 16) and heatmap.zmid == 0 and heatmap.colorscale[0][1] != ""
    assert len(field_steps(field, 0, [0, 1, 3]).data) == 3


def test_compare_figures():
    inputs = torch.rand(3, 1, 16, 16)
    a = compute_field(make_cnn(0), inputs, FieldConfig(steps=4))
    b = compute_field(make_cnn(1), inputs, FieldConfig(steps=4))
    maps = compare_maps(field_map(a, 0, 3), field_map(b, 0, 3), "a", "b")
    assert [annotation.text for annotation in maps.layout.annotations] == ["a", "b", "a - b"]
    result = field_distance(a, b)
    curves = distance_curves(result, a.alphas.numpy(), ["x0", "x1", "x2"], bootstrap_mean(result.per_input))
    assert list(curves.data[1].x) == ["x0", "x1", "x2"] and np.allclose(curves.data[0].y, result.per_step)


def test_space_figures():
    clustering = cluster(matrix())
    dendrogram = dendrogram_figure(clustering, 0.3)
    assert list(dendrogram.layout.xaxis.ticktext) == list(clustering.ordered_labels)
    scatter = embedding_scatter(embed(matrix(), method="mds"), {"src": "source", "ft": "finetune"}, "relation")
    assert {trace.name for trace in scatter.data} == {"source", "finetune", "-"}
