"""The audit's own false-positive check, on the user's zoo: each independent read exactly as a suspect.

A verdict's false-positive rate is a claim about the independents: at rate ``alpha``, an innocent model of their kind is
called ``derived`` at most that often. The audit can test the claim on the models it already has. Each independent is
read as a suspect against the *other* independents (leave-one-out, as a suspect named as an independent is), per method
and combined, and the check counts how many the audit would call ``derived``. With ``n`` independents about ``alpha *
n`` are expected; more means the independents disagree among themselves more than their spread says (one of another
architecture than the rest is the usual case: on stress seeds 1-40, ``combined`` calls the one MLP among eight
independents derived in 13 of its 80 readings, each other architecture in at most 5 of about 120, and ModelDiff alone
calls the MLP derived 37 times), and the verdicts on suspects like that independent deserve less trust. The fix is in
the zoo, not in the numbers: more independents, of the suspects' kinds.

:meth:`gifviz.audit.audit.AuditResult.self_check` builds it; no model runs again, the check re-reads the audit's
evidence.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gifviz.audit.names import COMBINED
from gifviz.audit.rows import AuditRow


@dataclasses.dataclass(frozen=True)
class SelfCheck:
    """Every independent of an audit read as a suspect.

    Attributes:
        rows: per independent, one row per method and one ``combined`` (the audit's :class:`AuditRow`).
        independents: the independents, in the audit's order.
        methods: the audit's methods.
        alpha: the false-positive rate of every verdict.
    """

    rows: tuple[AuditRow, ...]
    independents: tuple[str, ...]
    methods: tuple[str, ...]
    alpha: float

    def called(self, method: str = COMBINED, verdict: str = "derived") -> list[str]:
        """The independents ``method`` gives ``verdict``, in the audit's order."""
        return [r.suspect for r in self.rows if r.method == method and r.calibration.verdict == verdict]

    def readable(self, method: str = COMBINED) -> int:
        """How many independents ``method`` could read (the others are ``n/a``: too few independents left, or the
        method cannot compare them)."""
        return sum(r.calibration.usable for r in self.rows if r.method == method)

    def frame(self):
        """``pandas.DataFrame`` of the rows, with the audit's CSV columns and ``independent`` for ``suspect``."""
        import pandas as pd

        return pd.DataFrame([row.record() for row in self.rows]).rename(columns={"suspect": "independent"})

    def summary(self) -> str:
        """One paragraph: how many independents ``combined`` (and each method alone) calls derived, against how many
        the rate allows, and what to do when it is more."""
        n = self.readable()
        if n == 0:
            return (
                f"Independents read as suspects: none could be read ({len(self.independents)} independents; each is "
                "read against the others, and combined needs 3 of them). Add independents to check the "
                "false-positive rate on this zoo."
            )
        derived = self.called()
        inconclusive = self.called(verdict="inconclusive")
        expected = self.alpha * n
        parts = [
            f"Independents read as suspects, each against the other independents (the audit's own check of its "
            f"false-positive rate {self.alpha:g}): combined calls {len(derived)} of {n} derived"
            + (f" ({', '.join(derived)})" if derived else "")
            + (f" and {len(inconclusive)} inconclusive ({', '.join(inconclusive)})" if inconclusive else "")
            + f"; about {expected:.1f} expected at this rate."
        ]
        alone = {m: self.called(m) for m in self.methods}
        alone = {m: ids for m, ids in alone.items() if ids}
        if alone:
            parts.append(
                "Each method alone (about the same expected of each): "
                + "; ".join(f"{m} calls {len(ids)} derived ({', '.join(ids)})" for m, ids in alone.items())
                + "."
            )
        if len(derived) > max(1.0, expected):
            parts.append(
                "More independents look derived than the rate allows: they differ among themselves more than their "
                "spread says, and a suspect like them may be called derived without cause. Add independents of "
                "the suspects' kinds (architecture, training data)."
            )
        elif derived:
            parts.append(
                f"A suspect like {', '.join(derived)} (its architecture, its training data) may be called derived "
                "without cause: independents of its kind make its reading safer."
            )
        return " ".join(parts)

    def record(self) -> dict[str, Any]:
        """What ``audit.json`` keeps of the check: who is called what, by combined and by each method alone."""
        return {
            "read": self.readable(),
            "combined": {"derived": self.called(), "inconclusive": self.called(verdict="inconclusive")},
            "derived_by_method_alone": {m: self.called(m) for m in self.methods},
        }
