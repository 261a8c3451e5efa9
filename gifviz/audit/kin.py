"""When the ``same-arch`` rule has too few independents of the source's architecture to read a suspect of that
architecture, and what the audit says about it (a row note and an audit warning; no score changes).

Under ``same-arch`` every value is taken against the independents of the source's architecture in use
(:mod:`gifviz.audit.reading`). With one of them in use, that one is every value's anchor and has no value of its own,
so a suspect *of the source's architecture* is set against a null with none of its kind in it: the null's spread is
that of models of other architectures read against two close relatives (the source and that independent), narrower
than the spread between models of one architecture. With none in use, every value is taken against all
independents, and a model of the source's architecture sits closer to the source than to the others whatever its
lineage. Both make an innocent model of the source's architecture look derived more often than the stated rate.

Measured on the 112 report stress zoos (seeds 217-288 and 290-329; ``verdicts_by_model.csv`` of their folders in
``benchmarks/results``, fusion ``by-attack``; ``benchmarks/results/round-thirty-eight/DECLARED.md``, its lead): each
source there has two independents of its architecture, so each of them, read leave-one-out, is read with one left.
Those readings call it ``derived`` in 21 of 448 (4.7%), and 10 of 94 (10.6%) when the source is a small ResNet, 9 of
104 (8.7%) a small CNN, against 5% stated. Nothing in the readings can widen that null honestly: a member of the
source's kind would be a model the user did not name (``benchmarks/results/round-thirty-nine/DECLARED.md``), so the
audit says so and asks for more independents of that architecture instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from gifviz.audit.evidence import Evidence
from gifviz.audit.names import SAME_ARCH
from gifviz.audit.roles import AuditRoles

# Two: with two of the source's architecture in use, each is read against the other, so the null holds one of its kind
# per anchor (one alone has no value, gifviz.audit.reading.MethodReading.without_value).
ENOUGH_KIN = 2

_WHY_ONE = (
    "no model of its kind is in the null, and on the stress zoos innocents read this way were called derived more "
    "often than the stated rate with some architectures (10 of 94 with small-ResNet sources)"
)
_WHY_NONE = (
    "every value is read against all independents, where a model of the source's architecture sits closer to the "
    "source than to the others whatever its lineage"
)


def kin_in_use(evidence: Evidence, independents: Sequence[str]) -> list[str]:
    """The independents among ``independents`` with the source's architecture, in their order."""
    return [i for i in independents if i in evidence.same_architecture]


def thin_kin_note(evidence: Evidence, suspect: str, independents: Sequence[str], calibration: str) -> str:
    """The note on ``suspect``'s ``combined`` row when it has the source's architecture and is read by ``same-arch``
    against fewer than :data:`ENOUGH_KIN` independents of that architecture (``independents``: those its
    calibration reads, itself left out); empty otherwise. A suspect with other output classes than the source is
    read by another rule (:func:`gifviz.audit.run_audit._cross_task_readings`) and gets none."""
    if calibration != SAME_ARCH or suspect not in evidence.same_architecture or suspect in evidence.other_classes:
        return ""
    kin = kin_in_use(evidence, independents)
    if len(kin) >= ENOUGH_KIN:
        return ""
    if kin:
        return (
            f"thin null: {suspect} has the source's architecture and is read against one independent of it "
            f"({kin[0]}): {_WHY_ONE}; name more independents of its architecture"
        )
    return (
        f"thin null: {suspect} has the source's architecture and no independent in use shares it: {_WHY_NONE}; name "
        "independents of its architecture"
    )


def thin_kin_warning(evidence: Evidence, roles: AuditRoles, calibration: str) -> str | None:
    """One line for the whole audit when some suspect has the source's architecture and the audit's independents hold
    fewer than :data:`ENOUGH_KIN` of it, under ``same-arch`` (every such suspect is then read on a thin null); else
    ``None``. With enough, a suspect named as an independent can still be read with too few left (leave-one-out):
    its row says so (:func:`thin_kin_note`)."""
    if calibration != SAME_ARCH:
        return None
    kin = kin_in_use(evidence, roles.independents)
    of_its_kind = [s for s in roles.suspects if s in evidence.same_architecture and s not in evidence.other_classes]
    if len(kin) >= ENOUGH_KIN or not of_its_kind:
        return None
    suspects = ", ".join(of_its_kind)
    if kin:
        return (
            f"only one independent has the source {evidence.origin!r}'s architecture ({kin[0]}): the suspects of that "
            f"architecture ({suspects}) are read against it alone, {_WHY_ONE}; name {ENOUGH_KIN} or more "
            "independents of its architecture"
        )
    return (
        f"no independent has the source {evidence.origin!r}'s architecture, which suspects have ({suspects}): "
        f"{_WHY_NONE}; name {ENOUGH_KIN} or more independents of its architecture"
    )
