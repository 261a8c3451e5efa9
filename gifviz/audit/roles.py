"""Who is who in an audit or an unlearning check: defaults from the manifest's lineage, and the checks that turn a
bad choice into one line naming the model and the fix."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gifviz.audit.calibration import MIN_INDEPENDENTS
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo


class AuditError(ConfigError):
    """The models named for an audit or an unlearning check cannot answer the question as asked."""


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    """One line naming the choices when ``value`` is none of them (an audit setting, a fusion, an audit's method)."""
    if value not in choices:
        raise AuditError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


@dataclasses.dataclass(frozen=True)
class AuditRoles:
    """The source, the suspects scored against it, and the independents that calibrate the scores.

    ``leave_one_out``: suspects that are also independents; each is scored against the *other* independents.
    """

    source: str
    suspects: tuple[str, ...]
    independents: tuple[str, ...]

    @property
    def leave_one_out(self) -> tuple[str, ...]:
        return tuple(s for s in self.suspects if s in self.independents)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model the audit evaluates, the source first."""
        return tuple(dict.fromkeys((self.source, *self.suspects, *self.independents)))


def repeated_names(names: Sequence[str]) -> list[str]:
    """The names given more than once, sorted (model ids of a role, methods of an audit)."""
    return sorted({name for name in names if list(names).count(name) > 1})


def _known(zoo: Zoo, ids: Sequence[str], what: str) -> tuple[str, ...]:
    """``ids`` after checking that each is in the zoo (the manifest's one line lists its ids) and none repeats."""
    for model_id in ids:
        zoo.spec(model_id)
    twice = repeated_names(ids)
    if twice:
        raise AuditError(f"{what} names {', '.join(twice)} twice; name each model once")
    return tuple(ids)


def audit_roles(
    zoo: Zoo, source: str, suspects: Sequence[str] | None = None, independents: Sequence[str] | None = None
) -> AuditRoles:
    """The roles of an audit of ``source``.

    Defaults: the independents are the models with ``relation = "independent"`` and the source's task; the suspects
    are all other models. A model named both as suspect and as independent is scored leave-one-out.
    """
    spec = zoo.spec(source)
    if independents is None:
        independents = [
            s.id for s in zoo.specs if s.relation == "independent" and s.task == spec.task and s.id != source
        ]
    independents = _known(zoo, independents, "--independent")
    if source in independents:
        raise AuditError(f"the source {source!r} is also named as an independent; remove it from the independents")
    if suspects is None:
        suspects = [m for m in zoo.ids if m != source and m not in independents]
    suspects = _known(zoo, suspects, "--suspects")
    if source in suspects:
        raise AuditError(f"the source {source!r} is also named as a suspect; remove it from the suspects")
    if len(independents) < MIN_INDEPENDENTS:
        task = f'task = "{spec.task}" and ' if spec.task else ""
        found = f" (got {len(independents)}: {', '.join(independents)})" if independents else ""
        raise AuditError(
            f"an audit needs at least {MIN_INDEPENDENTS} independent models to calibrate against{found}; name them "
            f'with --independent ID,ID or mark models trained independently with {task}relation = "independent"'
        )
    if not suspects:
        raise AuditError("no suspect to audit: name them with --suspects ID,ID (every other model is an independent)")
    both = [s for s in suspects if s in independents]
    if both and len(independents) < MIN_INDEPENDENTS + 1:
        raise AuditError(
            f"{', '.join(both)} is both a suspect and an independent: scored leave-one-out it leaves "
            f"{len(independents) - 1} independent; name at least {MIN_INDEPENDENTS + 1} independents"
        )
    return AuditRoles(source, suspects, independents)


@dataclasses.dataclass(frozen=True)
class UnlearningRoles:
    """The original, the candidates to judge, and the models retrained without the forgotten data (may be empty)."""

    original: str
    candidates: tuple[str, ...]
    retrained: tuple[str, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.original, *self.candidates, *self.retrained)))


def unlearning_roles(
    zoo: Zoo, original: str, candidates: Sequence[str], retrained: Sequence[str] | None = None
) -> UnlearningRoles:
    """The roles of an unlearning check; one line for an unknown id, a repeated one, or the original in a role."""
    zoo.spec(original)
    candidates = _known(zoo, candidates, "--candidates")
    retrained = _known(zoo, retrained or (), "--retrained")
    if not candidates:
        raise AuditError("no candidate to check: name the unlearned models with --candidates ID,ID")
    if original in candidates:
        raise AuditError(f"the original {original!r} is also named as a candidate; remove it from the candidates")
    if original in retrained:
        raise AuditError(f"the original {original!r} is also named as retrained; remove it from --retrained")
    return UnlearningRoles(original, candidates, retrained)
