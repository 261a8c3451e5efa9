"""The audit's own false-positive check, on the user's zoo: each independent read exactly as a suspect.

A verdict's false-positive rate is a claim about the independents: at rate ``alpha``, an innocent model of their kind is
called ``derived`` at most that often. The audit can test the claim on the models it already has. Each independent is
read as a suspect against the *other* independents (leave-one-out, as a suspect named as an independent is), per method
and combined, and the check counts how many the audit would call ``derived``. With ``n`` independents about ``alpha *
n`` are expected; many more (a binomial tail below the rate) means the independents disagree among themselves more than
their spread says (one of another architecture than the rest is the usual case: on stress seeds 1-40, with the
relative rule and positive-sum of that time, ``combined`` calls the one MLP among eight independents derived in 13 of
its 80 readings, each other architecture in at most 5 of about 120;
benchmarks/results/audit-seeds-1-40/verdicts_by_model.csv), and the verdicts on suspects like that independent
deserve less trust. The fix is in the zoo, not in the numbers: more independents, of the suspects' kinds.

:meth:`gifviz.audit.run_audit.AuditResult.self_check` builds it; no model runs again, the check re-reads the audit's
evidence.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from scipy import stats

from gifviz.audit.calibration import MIN_INDEPENDENTS
from gifviz.audit.names import COMBINED
from gifviz.audit.rows import CSV_COLUMNS, AuditRow

if TYPE_CHECKING:
    import pandas as pd

# An independent read as a suspect leaves n - 1 to calibrate against, and combined's second calibration leaves one
# more out in turn and needs MIN_INDEPENDENTS of the rest (gifviz.audit.fusion): n - 2 >= MIN_INDEPENDENTS.
_FUSED_LEAVE_ONE_OUT = MIN_INDEPENDENTS + 2


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

    def frame(self) -> pd.DataFrame:
        """The rows, with the audit's CSV columns and ``independent`` for ``suspect``."""
        import pandas as pd

        frame = pd.DataFrame([row.record() for row in self.rows], columns=list(CSV_COLUMNS))
        return frame.rename(columns={"suspect": "independent"})

    def chance(self) -> float:
        """How likely ``combined`` would call at least as many of the independents it read derived if each were
        called so at the rate ``alpha`` on its own (binomial tail; the readings share independents, so this is a
        guide, not an exact p-value); NaN when it read none."""
        n, k = self.readable(), len(self.called())
        return float(stats.binom.sf(k - 1, n, self.alpha)) if n else math.nan

    def summary(self) -> str:
        """One paragraph: how many independents ``combined`` (and each method alone) calls derived, against how many
        the rate leads one to expect, and what to do about it."""
        n = self.readable()
        derived = self.called()
        intro = "Independents read as suspects, each against the other independents (the audit's own check of its "
        intro += f"false-positive rate {self.alpha:g}): "
        if n == 0:
            parts = [intro + f"combined could read none of the {len(self.independents)}."]
        else:
            inconclusive = self.called(verdict="inconclusive")
            read = {r.suspect for r in self.rows if r.method == COMBINED and r.calibration.usable}
            unread = [i for i in self.independents if i not in read]
            parts = [
                intro
                + f"combined calls {len(derived)} of {n} derived"
                + (f" ({', '.join(derived)})" if derived else "")
                + (f" and {len(inconclusive)} inconclusive ({', '.join(inconclusive)})" if inconclusive else "")
                + f"; about {self.alpha * n:.2g} expected at this rate"
                + (f"; it could not read {', '.join(unread)} (n/a)" if unread else "")
                + "."
            ]
        alone = {m: ids for m in self.methods if (ids := self.called(m))}
        if alone:
            parts.append(
                "Each method alone (about as many expected of each): "
                + "; ".join(f"{m} calls {len(ids)} derived ({', '.join(ids)})" for m, ids in alone.items())
                + "."
            )
        if derived:
            their = "its" if len(derived) == 1 else "their"
            parts.append(
                f"A suspect like {', '.join(derived)} ({their} architecture, {their} training data) may be called "
                f"derived without cause: independents of {their} kind make such a reading safer."
            )
            chance = self.chance()
            if chance < self.alpha:
                parts.append(
                    f"{len(derived)} or more of {n} happen at this rate with a probability of about "
                    f"{chance:.2g}: the independents differ among themselves more than their spread says. Add "
                    "independents of the suspects' kinds (architecture, training data)."
                )
        if len(self.independents) < _FUSED_LEAVE_ONE_OUT:
            parts.append(
                f"Combined fuses several methods for an independent read against the others only with "
                f"{_FUSED_LEAVE_ONE_OUT} independents or more; name more to check the rate on this zoo."
            )
        return " ".join(parts)

    def record(self) -> dict[str, Any]:
        """What ``audit.json`` keeps of the check: who is called what, by combined and by each method alone."""
        return {
            "read": self.readable(),
            "combined": {"derived": self.called(), "inconclusive": self.called(verdict="inconclusive")},
            "derived_by_method_alone": {m: self.called(m) for m in self.methods},
        }
