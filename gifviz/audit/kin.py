"""When the ``same-arch`` rule has too few independents of the source's architecture to read a suspect of that
architecture, and what the audit says about it (a row note and an audit warning; no score changes).

Under ``same-arch`` every value is taken against the independents of the source's architecture in use
(:mod:`gifviz.audit.reading`). With one of them in use, that one is every value's anchor and has no value of its own, so
a suspect *of the source's architecture* is set against a null with none of its kind in it: the null's spread is that of
models of other architectures read against two close relatives (the source and that independent), narrower than the
spread between models of one architecture. Measured on the 224 report stress zoos (seeds 217-288, 290-409 and 411-442;
``verdicts_by_model.csv`` of their folders in ``benchmarks/results``, fusion ``by-attack``, group ``innocent, same
task``; first read in ``benchmarks/results/round-thirty-eight/DECLARED.md``, on 112): each source there has two
independents of its architecture, so each of them, read leave-one-out, is read with one left. Those readings call it
``derived`` in 45 of 896 (5.0%), but in 26 of 220 when the source is a small ResNet and 17 of 230 when it is a small
CNN, against 5% stated. With none in use, every value is taken against all independents, where (by the reasoning that
chose ``same-arch``, not a measurement here) a model of the source's architecture sits closer to the source than to the
others whatever its lineage.

Nothing in the readings can widen that null honestly: a member of the source's kind would be a model the user did not
name (``benchmarks/results/round-thirty-nine/DECLARED.md``), so the audit says so and asks for more independents of
that architecture instead. Which independents a method reads against is the method's reading's to say
(:meth:`gifviz.audit.reading.MethodReading.kin_in_use`: one it cannot compare is not in use, and a method read raw
reads none), so the note is built from the fused methods' readings, never from the rule's name alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Two: with two of the source's architecture in use, each is read against the other, so the null holds one of its kind
# per anchor (one alone has no value, gifviz.audit.reading.MethodReading.without_value).
ENOUGH_KIN = 2

_WHY_ONE = (
    "no model of its kind is in the null, and an innocent one can be called derived more often than the stated rate"
)
_WHY_NONE = (
    "every value is read against all independents, where a model of the source's architecture sits close to the "
    "source whatever its lineage"
)


def _thin(kin_in_use: Iterable[frozenset[str] | None]) -> list[frozenset[str]]:
    """The methods' distinct sets of independents of the source's architecture in use that hold fewer than
    :data:`ENOUGH_KIN` (``None`` entries: a method that reads none, under another rule or read raw), smallest first."""
    thin = {kin for kin in kin_in_use if kin is not None and len(kin) < ENOUGH_KIN}
    return sorted(thin, key=lambda kin: (len(kin), sorted(kin)))


def thin_kin_note(kin_in_use: Iterable[frozenset[str] | None]) -> str:
    """The note on the ``combined`` row of a suspect of the source's architecture, given each method it fuses'
    independents of that architecture in use (:meth:`gifviz.audit.reading.MethodReading.kin_in_use`); empty when
    every such method reads against :data:`ENOUGH_KIN` or more. Methods that read against different ones are named
    each (``only k1 or only k2``). It never names the suspect: the CLI prints a note that many rows share once
    (``gifviz.cli.audit``)."""
    thin = _thin(kin_in_use)
    if not thin:
        return ""
    if not thin[0]:
        return f"thin null: no independent of the source's architecture in use: {_WHY_NONE}; name independents of it"
    named = " or ".join("only " + ", ".join(sorted(kin)) for kin in thin)
    return (
        f"thin null: read against {named} of the independents of the source's architecture: {_WHY_ONE}; name more "
        "independents of its architecture"
    )


def thin_kin_warning(origin: str, kin: Sequence[str], thin: Sequence[str]) -> str | None:
    """One line for the whole audit when some suspects (``thin``) are read on a thin null (their rows' notes say how),
    given the audit's independents of the source ``origin``'s architecture (``kin``); else ``None``. With fewer than
    :data:`ENOUGH_KIN` of them the zoo is short; with enough, some method fused for those suspects cannot compare them
    all."""
    if not thin:
        return None
    named = ", ".join(thin)
    if not kin:
        return (
            f"no independent shares the architecture of the source {origin!r}, which suspects have ({named}): "
            f"{_WHY_NONE}; name {ENOUGH_KIN} or more independents of its architecture"
        )
    if len(kin) < ENOUGH_KIN:
        return (
            f"only {', '.join(kin)} of the independents shares the architecture of the source {origin!r}: the "
            f"suspects of that architecture ({named}) are read against it alone, so {_WHY_ONE}; name {ENOUGH_KIN} or "
            "more independents of its architecture"
        )
    return (
        f"suspects of the architecture of the source {origin!r} ({named}) are read on a thin null: a method fused for "
        f"them cannot compare all {len(kin)} independents of that architecture ({', '.join(kin)}), so {_WHY_ONE}; "
        "their rows' notes name those in use"
    )
