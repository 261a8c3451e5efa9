"""Workflows that answer a user's question about their own models.

- :func:`audit`: was each suspect derived from the source? Per method and combined, every distance calibrated
  against independent models (:mod:`~gifviz.audit.calibration`, :mod:`~gifviz.audit.fusion`);
- :meth:`AuditResult.self_check`: the audit's own false-positive check, each independent read as a suspect;
- :func:`verify_unlearning`: is each candidate like a retrained model, or still close to the original?

Imported on first use (PEP 562): ``gifviz.audit.names`` is torch-free for the command line's parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gifviz._lazy import lazy_exports

_EXPORTS = {
    "audit": "gifviz.audit.run_audit",
    "AuditResult": "gifviz.audit.run_audit",
    "AuditRow": "gifviz.audit.rows",
    "AuditError": "gifviz.audit.roles",
    "Calibration": "gifviz.audit.calibration",
    "calibrate": "gifviz.audit.calibration",
    "FUSIONS": "gifviz.audit.fusion",
    "ReadingSettings": "gifviz.audit.settings",
    "SelfCheck": "gifviz.audit.self_check",
    "verify_unlearning": "gifviz.audit.unlearning",
    "UnlearningResult": "gifviz.audit.unlearning",
}

__all__ = [
    "FUSIONS",
    "AuditError",
    "AuditResult",
    "AuditRow",
    "Calibration",
    "ReadingSettings",
    "SelfCheck",
    "UnlearningResult",
    "audit",
    "calibrate",
    "verify_unlearning",
]

if TYPE_CHECKING:
    from gifviz.audit.calibration import Calibration, calibrate
    from gifviz.audit.fusion import FUSIONS
    from gifviz.audit.roles import AuditError
    from gifviz.audit.rows import AuditRow
    from gifviz.audit.run_audit import AuditResult, audit
    from gifviz.audit.self_check import SelfCheck
    from gifviz.audit.settings import ReadingSettings
    from gifviz.audit.unlearning import UnlearningResult, verify_unlearning


__getattr__, __dir__ = lazy_exports("gifviz.audit", _EXPORTS, globals())
