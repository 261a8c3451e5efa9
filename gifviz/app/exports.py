"""What the download buttons hand out: exactly what the page shows, with its provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gifviz.distance import DistanceMatrix


def shown_matrix(matrix: DistanceMatrix, order: Sequence[str], linkage: str) -> DistanceMatrix:
    """The matrix in the displayed order, its provenance saying so."""
    shown = matrix.subset(list(order))
    info = {**shown.provenance, "display_order": list(order), "order_from": f"{linkage}-linkage clustering"}
    return DistanceMatrix(shown.labels, shown.values, shown.metric, info)


def clusters_csv(assignment: Mapping[str, int], order: Sequence[str], threshold: float, linkage: str) -> str:
    """``model,cluster`` rows in dendrogram order, with the cut and linkage in a comment line."""
    lines = [f"# clusters at distance {threshold:.6g}, {linkage} linkage", "model,cluster"]
    lines += [f"{model},{assignment[model]}" for model in order]
    return "\n".join(lines) + "\n"
