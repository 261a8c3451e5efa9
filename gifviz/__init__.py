"""gifviz: how functionally close trained neural networks are, by their Model Gradient Fields (ModelGiF).

The public names below are imported on first use (PEP 562), so ``import gifviz`` (and the command line's ``--help``)
does not pay for torch, torchvision and captum; ``from gifviz import compute_field`` works as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gifviz._lazy import lazy_exports
from gifviz._version import __version__

# public name -> module that defines it
_EXPORTS = {
    "DistanceMatrix": "gifviz.distance.matrix",
    "Field": "gifviz.field.result",
    "FieldConfig": "gifviz.config",
    "FieldDistance": "gifviz.distance.exact",
    "GifvizError": "gifviz.errors",
    "InputSpace": "gifviz.space",
    "Preprocess": "gifviz.space",
    "ReferenceSet": "gifviz.refs",
    "compute_field": "gifviz.field.engine",
    "distance_matrix": "gifviz.distance.exact",
    "field_distance": "gifviz.distance.exact",
    "load_reference_folder": "gifviz.refs",
}

__all__ = [  # spelled out (not built from _EXPORTS) so that linters and readers see the public face
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

if TYPE_CHECKING:  # type checkers and IDEs see the real objects
    from gifviz.config import FieldConfig
    from gifviz.distance import DistanceMatrix, FieldDistance, distance_matrix, field_distance
    from gifviz.errors import GifvizError
    from gifviz.field import Field, compute_field
    from gifviz.refs import ReferenceSet, load_reference_folder
    from gifviz.space import InputSpace, Preprocess


__getattr__, __dir__ = lazy_exports("gifviz", _EXPORTS, globals())
