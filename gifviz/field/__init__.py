"""A model's gradient field on a reference set: the engine and the parts it is made of.

- :mod:`~gifviz.field.engine`: :func:`compute_field`, (model, references, baselines, config) -> :class:`Field`;
- :mod:`~gifviz.field.result`: :class:`Field`, the ``(N, S, D)`` result with its path nodes and scores;
- :mod:`~gifviz.field.targets`: the target rules, the scalar ``y_m(p)`` differentiated at each path point;
- :mod:`~gifviz.field.baselines`: the path starts ``b_i`` (zeros, blur, shuffle, noise);
- :mod:`~gifviz.field.integration`: captum's nodes ``a_k`` and weights ``w_k``, captum imported on first use;
- :mod:`~gifviz.field.files`: one field to and from an ``.npz`` file.

The field's settings, :class:`~gifviz.config.FieldConfig`, stay in :mod:`gifviz.config`: a torch-free leaf that the
command line's parser imports for its defaults. General torch helpers (device, eval mode, in-place activations, layer
hooks) live in :mod:`gifviz.torch_helpers`, which every layer may use.

The names below are imported on first use (PEP 562), like :mod:`gifviz`'s own: a caller that only needs
:class:`Field` (the store, the distances, the figures) does not import captum or the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gifviz._lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "ProgressFn": "gifviz.field.engine",
    "compute_field": "gifviz.field.engine",
    "Field": "gifviz.field.result",
    "TargetState": "gifviz.field.targets",
    "check_outputs": "gifviz.field.targets",
    "resolve_target": "gifviz.field.targets",
    "target_scalar": "gifviz.field.targets",
    "make_baselines": "gifviz.field.baselines",
    "shuffle_partner": "gifviz.field.baselines",
    "integration_rule": "gifviz.field.integration",
    "load_field_npz": "gifviz.field.files",
    "save_field_npz": "gifviz.field.files",
}

__all__ = [  # spelled out (not built from _EXPORTS) so that linters and readers see the public face
    "Field",
    "ProgressFn",
    "TargetState",
    "check_outputs",
    "compute_field",
    "integration_rule",
    "load_field_npz",
    "make_baselines",
    "resolve_target",
    "save_field_npz",
    "shuffle_partner",
    "target_scalar",
]

if TYPE_CHECKING:  # type checkers and IDEs see the real objects
    from gifviz.field.baselines import make_baselines, shuffle_partner
    from gifviz.field.engine import ProgressFn, compute_field
    from gifviz.field.files import load_field_npz, save_field_npz
    from gifviz.field.integration import integration_rule
    from gifviz.field.result import Field
    from gifviz.field.targets import TargetState, check_outputs, resolve_target, target_scalar


__getattr__, __dir__ = lazy_exports("gifviz.field", _EXPORTS, globals())
