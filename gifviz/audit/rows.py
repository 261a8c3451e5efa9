"""One row of an audit's table: a model's evidence by one method, or ``combined`` (what ``audit.csv`` holds)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from gifviz.audit.calibration import Calibration
from gifviz.audit.names import COMBINED

CSV_COLUMNS = ("suspect", "method", "distance", "score", "p_value", "verdict", "p_tail", "independents", "note")


@dataclasses.dataclass(frozen=True)
class AuditRow:
    """One suspect's evidence by one method (or ``combined``)."""

    suspect: str
    method: str
    calibration: Calibration
    # a combined row of a suspect of the source's architecture read against too few of its kind (its note says how;
    # gifviz.audit.kin): kept as a flag so the audit's warning counts the rows as read, without reading them again
    thin_null: bool = False

    def record(self) -> dict[str, Any]:
        """The CSV row (:data:`CSV_COLUMNS`); a combined row's distance is empty (its fused statistic is in the
        JSON), and a value that does not exist is empty."""
        c = self.calibration
        distance = math.nan if self.method == COMBINED else c.distance
        return {
            "suspect": self.suspect,
            "method": self.method,
            "distance": distance,
            "score": c.score,
            "p_value": c.p_value,
            "verdict": c.verdict,
            "p_tail": c.p_tail,
            "independents": c.independents,
            "note": c.note,
        }
