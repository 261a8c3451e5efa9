"""Hierarchical clustering of models from their distances (scipy's linkage on the condensed matrix)."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from gifviz.distance import DistanceMatrix
from gifviz.errors import ConfigError

# Methods valid for arbitrary (non-Euclidean) dissimilarities; ward/centroid/median assume Euclidean geometry.
LINKAGES = ("average", "complete", "single", "weighted")


@dataclasses.dataclass(frozen=True)
class Clustering:
    """A dendrogram of the matrix's models.

    Attributes:
        labels: model ids in matrix order.
        linkage: scipy linkage matrix ``(M - 1, 4)``.
        method: the linkage method.
        order: leaf order ``(M,)`` (indices into ``labels``), for ordering heatmaps.
    """

    labels: tuple[str, ...]
    linkage: np.ndarray
    method: str
    order: np.ndarray

    def cut(self, threshold: float) -> dict[str, int]:
        """Cluster number (1-based, in leaf order) of each model when the tree is cut at ``threshold``."""
        raw = hierarchy.fcluster(self.linkage, t=threshold, criterion="distance")
        renumber: dict[int, int] = {}
        for index in self.order:  # number clusters left to right, as they appear in the dendrogram
            renumber.setdefault(int(raw[index]), len(renumber) + 1)
        return {label: renumber[int(raw[i])] for i, label in enumerate(self.labels)}

    @property
    def ordered_labels(self) -> tuple[str, ...]:
        return tuple(self.labels[i] for i in self.order)


def cluster(matrix: DistanceMatrix, method: str = "average") -> Clustering:
    """Agglomerative clustering of ``matrix`` with ``method`` (one of :data:`LINKAGES`)."""
    if method not in LINKAGES:
        raise ConfigError(f"linkage {method!r} is not one of {', '.join(LINKAGES)} (valid for any dissimilarity)")
    if len(matrix) < 2:
        raise ConfigError("clustering needs at least two models")
    condensed = squareform(np.asarray(matrix.values, dtype=np.float64), checks=False)
    condensed = np.clip(condensed, 0, None)
    # Reorder the tree itself (not just a leaf list) so the dendrogram and the heatmap show one and the same order.
    linkage = hierarchy.optimal_leaf_ordering(hierarchy.linkage(condensed, method=method), condensed)
    return Clustering(matrix.labels, linkage, method, np.asarray(hierarchy.leaves_list(linkage)))
