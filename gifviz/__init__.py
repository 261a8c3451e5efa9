"""gifviz: how functionally close trained neural networks are, by their Model Gradient Fields (ModelGiF)."""

from __future__ import annotations

__version__ = "0.1.0"

from gifviz.config import FieldConfig
from gifviz.distance import FieldDistance, distance_matrix, field_distance
from gifviz.errors import GifvizError
from gifviz.field import Field, compute_field
from gifviz.matrix import DistanceMatrix
from gifviz.refs import ReferenceSet, load_reference_folder
from gifviz.space import InputSpace, Preprocess

__all__ = [
    "DistanceMatrix",
    "Field",
    "FieldConfig",
    "FieldDistance",
    "GifvizError",
    "InputSpace",
    "Preprocess",
    "ReferenceSet",
    "__version__",
    "compute_field",
    "distance_matrix",
    "field_distance",
    "load_reference_folder",
]
