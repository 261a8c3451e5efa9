"""What the Map, Clusters and Distances pages show of model space, cached by the matrix they come from: the
embedding, the clustering (scipy's optimal leaf ordering costs ``O(M^3)``), a cut of its tree and the cut's table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from gifviz.analysis.clustering import Clustering, cluster
from gifviz.analysis.embedding import Embedding, embed
from gifviz.app.exports import clusters_csv
from gifviz.distance import DistanceMatrix
from gifviz.hub.zoo import Zoo

# Where the Clusters page first cuts the tree: this quantile of the merge heights.
DEFAULT_CUT_QUANTILE = 0.75


@st.cache_data(show_spinner="Embedding ...", max_entries=16)
def embedding(matrix: DistanceMatrix, dimensions: int, method: str, seed: int) -> Embedding:
    """:func:`gifviz.analysis.embedding.embed` of ``matrix``, cached."""
    return embed(matrix, dimensions=dimensions, method=method, seed=seed)


@st.cache_data(show_spinner="Clustering ...", max_entries=16)
def clustering(matrix: DistanceMatrix, linkage: str) -> Clustering:
    """:func:`gifviz.analysis.clustering.cluster` of ``matrix`` with ``linkage``, cached."""
    return cluster(matrix, linkage)


@dataclasses.dataclass(frozen=True)
class CutRange:
    """The slider of the tree's cut: from 0 to ``maximum`` (the highest merge), starting at ``default``."""

    maximum: float
    default: float


def cut_range(tree: Clustering) -> CutRange:
    """The cut slider's range and starting point for ``tree`` (a one-model tree has no merges: 0..1, at 0.5)."""
    heights = tree.linkage[:, 2]
    if not len(heights):
        return CutRange(1.0, 0.5)
    return CutRange(float(max(heights.max(), 1e-6)), float(np.quantile(heights, DEFAULT_CUT_QUANTILE)))


@dataclasses.dataclass(frozen=True)
class ClusterCut:
    """The tree cut at ``threshold``.

    Attributes:
        assignment: model id -> cluster number (1-based, left to right in the dendrogram).
        table: one row per model in dendrogram order: model, cluster, relation, parent, arch, task.
        csv: the ``model,cluster`` download, with the cut and linkage in a comment line.
    """

    threshold: float
    assignment: dict[str, int]
    table: pd.DataFrame
    csv: str

    @property
    def count(self) -> int:
        return len(set(self.assignment.values()))


def cluster_cut(zoo: Zoo, tree: Clustering, threshold: float) -> ClusterCut:
    """Cut ``tree`` at distance ``threshold``; the table describes each model from ``zoo``'s manifest."""
    assignment = tree.cut(threshold)
    order = tree.ordered_labels
    specs = [zoo.spec(model_id) for model_id in order]
    table = pd.DataFrame(
        {
            "model": list(order),
            "cluster": [assignment[model_id] for model_id in order],
            "relation": [spec.relation for spec in specs],
            "parent": [spec.parent for spec in specs],
            "arch": [spec.arch for spec in specs],
            "task": [spec.task for spec in specs],
        }
    )
    return ClusterCut(threshold, assignment, table, clusters_csv(assignment, order, threshold, tree.method))
