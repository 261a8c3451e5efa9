"""Maps of model space from precomputed distances: UMAP (umap-learn), or metric MDS (scikit-learn) for small zoos."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from gifviz.distance import DistanceMatrix
from gifviz.errors import ConfigError

METHODS = ("auto", "umap", "mds")
# UMAP's neighbour graph needs a handful of points; below this MDS is the honest choice.
UMAP_MIN_MODELS = 12


@dataclasses.dataclass(frozen=True)
class Embedding:
    """Coordinates ``(M, k)`` of the matrix's models, the method that made them, and its settings."""

    labels: tuple[str, ...]
    coordinates: np.ndarray
    method: str
    settings: dict


def embed(
    matrix: DistanceMatrix, dimensions: int = 2, method: str = "auto", seed: int = 0, n_neighbors: int = 10
) -> Embedding:
    """Embed the models of ``matrix`` in ``dimensions`` (2 or 3) from the precomputed distances.

    ``auto`` uses UMAP from :data:`UMAP_MIN_MODELS` models on, metric MDS below.
    """
    if method not in METHODS:
        raise ConfigError(f"embedding method {method!r} is not one of {', '.join(METHODS)}")
    if dimensions not in (2, 3):
        raise ConfigError("embeddings are 2-D or 3-D")
    m = len(matrix)
    if m < dimensions + 1:
        raise ConfigError(f"a {dimensions}-D map needs at least {dimensions + 1} models; this matrix has {m}")
    if method == "auto":
        method = "umap" if m >= UMAP_MIN_MODELS else "mds"
    distances = np.asarray(matrix.values, dtype=np.float64)
    if method == "umap":
        import umap  # lazily: importing umap-learn compiles numba code (seconds)

        neighbours = max(2, min(n_neighbors, m - 1))
        reducer = umap.UMAP(
            n_components=dimensions,
            metric="precomputed",
            n_neighbors=neighbours,
            random_state=seed,
            init="random",
            min_dist=0.1,
            precomputed_knn=nearest_neighbours(distances, neighbours),
        )
        with warnings.catch_warnings():
            # umap-learn warns that without its own search index it cannot place new points (``transform``): a map
            # of model space never does.
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
            coordinates = reducer.fit_transform(distances)
        settings = {"n_neighbors": neighbours, "min_dist": 0.1, "seed": seed}
    else:
        from sklearn.manifold import MDS

        mds = MDS(n_components=dimensions, metric="precomputed", random_state=seed, n_init=4, init="random")
        coordinates = mds.fit_transform(distances)
        settings = {"seed": seed, "stress": float(mds.stress_)}
    return Embedding(matrix.labels, np.asarray(coordinates, dtype=np.float64), method, settings)


def nearest_neighbours(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each model's ``k`` nearest models, itself first: indices and distances, both ``(M, k)``.

    Handed to umap-learn (its ``precomputed_knn``) so that it does not search them itself: for a precomputed matrix
    its exact search is a row-wise sort too, but it compiles a parallel numba kernel first: 4.3 s of the 9.8 s a first
    map of 60 models waits in a new process on 2 idle cores (``benchmarks/first_map.py``). The graph is the same, and
    so are the coordinates (the benchmark checks them).
    """
    order_keys = np.array(distances, dtype=np.float64, copy=True)
    np.fill_diagonal(order_keys, -np.inf)  # itself first, even where another model is at distance 0
    indices = np.argsort(order_keys, axis=1, kind="stable")[:, :k]
    return indices, np.take_along_axis(distances, indices, axis=1)
