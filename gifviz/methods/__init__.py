"""Distance methods: ModelGiF and its peers behind one interface.

- :mod:`~gifviz.methods.interface`: :class:`DistanceMethod` (prepare, signature, compare on chosen rows),
  :class:`MethodInputs`, :class:`Signature`;
- :mod:`~gifviz.methods.modelgif`: ModelGiF, whose signatures are gradient fields kept in the field store;
- :mod:`~gifviz.methods.peers`: output disagreement, softmax distance, ModelDiff, SAC-w, SAC-m, linear CKA, ZEST;
- :mod:`~gifviz.methods.dark_knowledge` and :mod:`~gifviz.methods.off_task` (on
  :mod:`~gifviz.methods.natural_crops`): the audit's own black-box evidence (:data:`AUDIT_EVIDENCE`);
- :mod:`~gifviz.methods.registry`: every method by name (:data:`METHODS`) and :func:`method_matrix`, the matrix of
  any method for a zoo's models;
- :mod:`~gifviz.methods.run`: :class:`MethodRun`, a method evaluated once and compared on any rows (the testbeds).

The names below are imported on first use (PEP 562), like :mod:`gifviz`'s own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gifviz._lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "DistanceMethod": "gifviz.methods.interface",
    "MethodInputs": "gifviz.methods.interface",
    "Signature": "gifviz.methods.interface",
    "METHODS": "gifviz.methods.registry",
    "PEERS": "gifviz.methods.registry",
    "AUDIT_EVIDENCE": "gifviz.methods.registry",
    "distance_method": "gifviz.methods.registry",
    "method_matrix": "gifviz.methods.registry",
    "MethodRun": "gifviz.methods.run",
    "method_run": "gifviz.methods.run",
}

__all__ = [
    "AUDIT_EVIDENCE",
    "METHODS",
    "PEERS",
    "DistanceMethod",
    "MethodInputs",
    "MethodRun",
    "Signature",
    "distance_method",
    "method_matrix",
    "method_run",
]

if TYPE_CHECKING:
    from gifviz.methods.interface import DistanceMethod, MethodInputs, Signature
    from gifviz.methods.registry import AUDIT_EVIDENCE, METHODS, PEERS, distance_method, method_matrix
    from gifviz.methods.run import MethodRun, method_run


__getattr__, __dir__ = lazy_exports("gifviz.methods", _EXPORTS, globals())
