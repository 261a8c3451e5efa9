"""Distances between the gradient fields of models, as one pair or as a labelled matrix.

- :mod:`~gifviz.distance.exact`: one pair with its breakdowns (:func:`field_distance`), and the matrix of fields held
  in memory (:func:`distance_matrix`; metrics :data:`METRICS`);
- :mod:`~gifviz.distance.streamed`: the same exact cosine matrix for more fields than fit in memory, under a byte
  budget (:func:`streamed_distance_matrix`);
- :mod:`~gifviz.distance.sketch`: approximate cosine matrices of many thousands of models from CountSketches
  (:func:`sketch_field`, :func:`sketch_distance_matrix`);
- :mod:`~gifviz.distance.gram`: the cosine arithmetic those three share (unit rows, vanishing points, the Gram of
  pointwise cosines, ``1 - G / (N S)``, symmetry and the zero diagonal);
- :mod:`~gifviz.distance.matrix`: :class:`DistanceMatrix`, the labelled result, and its CSV and provenance form.

The names below are imported on first use (PEP 562), like :mod:`gifviz`'s own: a caller that only needs
:class:`DistanceMatrix` (figures, analysis, exports) does not import torch and the field engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gifviz._lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "METRICS": "gifviz.distance.exact",
    "FieldDistance": "gifviz.distance.exact",
    "distance_matrix": "gifviz.distance.exact",
    "field_distance": "gifviz.distance.exact",
    "streamed_distance_matrix": "gifviz.distance.streamed",
    "SKETCH_DIM": "gifviz.distance.sketch",
    "SKETCH_SEED": "gifviz.distance.sketch",
    "FieldSketch": "gifviz.distance.sketch",
    "sketch_distance_matrix": "gifviz.distance.sketch",
    "sketch_field": "gifviz.distance.sketch",
    "DistanceMatrix": "gifviz.distance.matrix",
}

__all__ = [  # spelled out (not built from _EXPORTS) so that linters and readers see the public face
    "METRICS",
    "SKETCH_DIM",
    "SKETCH_SEED",
    "DistanceMatrix",
    "FieldDistance",
    "FieldSketch",
    "distance_matrix",
    "field_distance",
    "sketch_distance_matrix",
    "sketch_field",
    "streamed_distance_matrix",
]

if TYPE_CHECKING:  # type checkers and IDEs see the real objects
    from gifviz.distance.exact import METRICS, FieldDistance, distance_matrix, field_distance
    from gifviz.distance.matrix import DistanceMatrix
    from gifviz.distance.sketch import SKETCH_DIM, SKETCH_SEED, FieldSketch, sketch_distance_matrix, sketch_field
    from gifviz.distance.streamed import streamed_distance_matrix


__getattr__, __dir__ = lazy_exports("gifviz.distance", _EXPORTS, globals())
