"""How an audit reads its distances: every choice that recombines the same evidence without running a model.

Each round that chose one of these rules added a setting (docs/audit-history.md). They travel together as one frozen
:class:`ReadingSettings`, so :func:`gifviz.audit.run_audit.assess`, the cross-task readings, each
:class:`~gifviz.audit.reading.MethodReading`, the self-check and :meth:`AuditResult.reread
<gifviz.audit.run_audit.AuditResult.reread>` take one argument, and a new setting is one field here, not one more
parameter in each of their signatures.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gifviz.audit.names import (
    CALIBRATION_RULES,
    COMBINED_SCORES,
    CROSS_TASK_NULLS,
    DEFAULT_CALIBRATION,
    DEFAULT_COMBINED_SCORE,
    DEFAULT_CROSS_TASK_NULL,
    DEFAULT_FUSION,
    DEFAULT_NULL_CENTRE,
    DEFAULT_ONE_METHOD,
    DEFAULT_RATE_SPREAD,
    DEFAULT_WEIGHT_SCOPE,
    FUSION_NAMES,
    NULL_CENTRES,
    ONE_METHOD_READINGS,
    RATE_SPREADS,
    WEIGHT_SCOPES,
)
from gifviz.audit.roles import check_choice

# Each setting, the name its one-line error uses, and its choices (gifviz.audit.names says why each default).
_CHOICES = {
    "fusion": ("fusion", FUSION_NAMES),
    "calibration": ("calibration", CALIBRATION_RULES),
    "one_method": ("one-method reading", ONE_METHOD_READINGS),
    "rate_spread": ("rate spread", RATE_SPREADS),
    "null_centre": ("null centre", NULL_CENTRES),
    "cross_task_null": ("cross-task null", CROSS_TASK_NULLS),
    "weight_scope": ("weight scope", WEIGHT_SCOPES),
    "combined_score": ("combined score", COMBINED_SCORES),
}


@dataclasses.dataclass(frozen=True)
class ReadingSettings:
    """The audit's reading rules (the defaults are the shipped audit's).

    Attributes:
        fusion: how ``combined`` fuses the methods' calibrated evidence (:data:`gifviz.audit.names.FUSION_NAMES`).
        calibration: what each method's evidence is read on (:data:`gifviz.audit.names.CALIBRATION_RULES`).
        one_method: how ``combined`` reads a suspect for which it fuses one method
            (:data:`gifviz.audit.names.ONE_METHOD_READINGS`).
        rate_spread: the spread floor of the methods whose distance is a share of their samples
            (:data:`gifviz.audit.names.RATE_SPREADS`).
        null_centre: where the calibrations read against the anchors are centred
            (:data:`gifviz.audit.names.NULL_CENTRES`).
        cross_task_null: which independents calibrate a suspect with other output classes than the source
            (:data:`gifviz.audit.names.CROSS_TASK_NULLS`).
        weight_scope: which suspects' ``combined`` fuses the methods that read weights
            (:data:`gifviz.audit.names.WEIGHT_SCOPES`; only an audit run with one of them, such as ``first-layer``).
        combined_score: what the ``combined`` row's score is where a statistic was fused: the statistic itself, or
            the statistic read against its null (:data:`gifviz.audit.names.COMBINED_SCORES`; the p-value and the
            verdict are read against the null under both).

    Raises :class:`~gifviz.audit.roles.AuditError` (one line naming the choices) for an unknown value.
    """

    fusion: str = DEFAULT_FUSION
    calibration: str = DEFAULT_CALIBRATION
    one_method: str = DEFAULT_ONE_METHOD
    rate_spread: str = DEFAULT_RATE_SPREAD
    null_centre: str = DEFAULT_NULL_CENTRE
    cross_task_null: str = DEFAULT_CROSS_TASK_NULL
    weight_scope: str = DEFAULT_WEIGHT_SCOPE
    combined_score: str = DEFAULT_COMBINED_SCORE

    def __post_init__(self) -> None:
        for field, (what, choices) in _CHOICES.items():
            check_choice(what, getattr(self, field), choices)

    def changed(self, **settings: str) -> ReadingSettings:
        """These settings with some replaced (checked like the others); an unknown setting's name is one line."""
        unknown = sorted(set(settings) - set(_CHOICES))
        if unknown:
            raise TypeError(f"unknown reading setting {', '.join(unknown)}; choose from: {', '.join(_CHOICES)}")
        return dataclasses.replace(self, **settings)

    def config(self) -> dict[str, Any]:
        """The settings an audit's provenance records in its configuration (the fusion has an entry of its own)."""
        return {field: getattr(self, field) for field in _CHOICES if field != "fusion"}


DEFAULT_READING = ReadingSettings()
