"""Embeddings, clustering and bootstrap intervals on matrices with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from gifviz.analysis.clustering import cluster
from gifviz.analysis.embedding import embed, nearest_neighbours
from gifviz.analysis.stats import bootstrap_mean
from gifviz.distance import DistanceMatrix
from gifviz.errors import ConfigError


def two_groups(per_group: int = 7, seed: int = 0) -> DistanceMatrix:
    """Two well separated clouds: a* near the origin, b* far away."""
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.normal(0, 0.1, (per_group, 4)), rng.normal(5, 0.1, (per_group, 4))])
    values = np.linalg.norm(points[:, None] - points[None], axis=-1)
    labels = tuple([f"a{i}" for i in range(per_group)] + [f"b{i}" for i in range(per_group)])
    return DistanceMatrix(labels, values)


def test_cut_recovers_the_groups_and_order_keeps_them_together():
    clustering = cluster(two_groups())
    groups = clustering.cut(1.0)
    assert len({groups[f"a{i}"] for i in range(7)}) == 1 and len({groups[f"b{i}"] for i in range(7)}) == 1
    assert groups["a0"] != groups["b0"]
    order = [label[0] for label in clustering.ordered_labels]
    assert order == sorted(order) or order == sorted(order, reverse=True)


def test_clustering_rejects_euclidean_only_linkages():
    with pytest.raises(ConfigError, match="ward"):
        cluster(two_groups(), "ward")


@pytest.mark.parametrize("method,dimensions", [("mds", 2), ("mds", 3), ("umap", 2)])
def test_embeddings_separate_the_groups(method, dimensions):
    result = embed(two_groups(), dimensions=dimensions, method=method)
    assert result.coordinates.shape == (14, dimensions) and result.method == method
    a, b = result.coordinates[:7], result.coordinates[7:]
    within = max(np.linalg.norm(a - a.mean(0), axis=1).max(), np.linalg.norm(b - b.mean(0), axis=1).max())
    assert np.linalg.norm(a.mean(0) - b.mean(0)) > 2 * within


def test_nearest_neighbours_put_each_model_first_then_the_closest_in_order():
    values = two_groups().values.copy()
    values[3, 4] = values[4, 3] = 0.0  # two models at distance 0: each still lists itself first
    indices, distances = nearest_neighbours(values, 5)
    assert indices.shape == distances.shape == (14, 5)
    assert (indices[:, 0] == np.arange(14)).all() and indices[3, 1] == 4 and indices[4, 1] == 3
    np.testing.assert_array_equal(distances, np.take_along_axis(values, indices, axis=1))
    assert (np.diff(distances, axis=1) >= 0).all()
    for row in range(14):  # no model left out is closer than the farthest one kept
        left_out = np.setdiff1d(np.arange(14), indices[row])
        assert values[row, left_out].min() >= distances[row, -1]


def test_auto_uses_mds_for_small_zoos():
    assert embed(two_groups(per_group=3), method="auto").method == "mds"
    assert embed(two_groups(per_group=7), method="auto").method == "umap"


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_inputs():
    rng = np.random.default_rng(1)
    few, many = rng.uniform(0, 1, 10), rng.uniform(0, 1, 1000)
    small, large = bootstrap_mean(few), bootstrap_mean(many)
    assert small.low <= small.estimate <= small.high
    assert (large.high - large.low) < (small.high - small.low)
