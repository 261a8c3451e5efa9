"""``audit``: was each suspect derived from the source? Per method and combined, calibrated against independents.

Each method's distance from the source to a suspect becomes evidence only against models known to be independent
(:mod:`gifviz.audit.calibration`): by default its relative distance (how much closer the source is to the suspect
than the independents of the source's architecture are, :mod:`gifviz.audit.reading`) against the independents' own
relative distances, or the raw distance against theirs from the source. ``combined`` fuses the methods' calibrated
evidence and calibrates the fusion once more (:mod:`gifviz.audit.fusion`); where one method alone can compare a
suspect, it is that method's own calibration.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

from gifviz.audit.calibration import MIN_INDEPENDENTS, Calibration, calibrate, not_available
from gifviz.audit.evidence import Evidence, method_evidence
from gifviz.audit.fusion import (
    DEFAULT_FUSION_NOTE,
    combined_evidence,
    fused_methods,
    fusion_provenance,
    null_calibrations,
)
from gifviz.audit.kin import thin_kin_note, thin_kin_warning
from gifviz.audit.names import (
    AUDIT_METHODS,
    COMBINED,
    CROSS_TASK_METHODS,
    DEFAULT_ALPHA,
    DEFAULT_FUSION,
    DEFAULT_METHODS,
    DEFAULT_N_REFS,
    OTHER_KINDS,
    RELATIVE,
    SAME_ARCH,
    WEIGHT_METHODS,
)
from gifviz.audit.provenance import default_references, run_provenance
from gifviz.audit.reading import MethodReading
from gifviz.audit.roles import AuditError, AuditRoles, audit_roles, check_choice, repeated_names

# CSV_COLUMNS, AuditRow and COMBINED are also imported from here (gifviz.audit.run_audit) by the app, the benchmarks and
# the tests: the audit's table is read where it is made.
from gifviz.audit.rows import CSV_COLUMNS, AuditRow
from gifviz.audit.self_check import SelfCheck
from gifviz.audit.settings import DEFAULT_READING, ReadingSettings
from gifviz.config import FieldConfig
from gifviz.hub.zoo import Zoo
from gifviz.pipeline import ZooProgress
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore


@dataclasses.dataclass(frozen=True)
class AuditResult:
    """An audit's rows (per suspect: one per method, then ``combined``, as :func:`assess` makes them: every way of
    reading it again rebuilds them so), with what they were computed from.

    ``evidence`` keeps every distance from the source and to the independents, so :meth:`reread` recombines them
    under other :class:`ReadingSettings` without running a model.
    """

    roles: AuditRoles
    methods: tuple[str, ...]
    alpha: float
    evidence: Evidence
    rows: tuple[AuditRow, ...]
    provenance: dict[str, Any]
    settings: ReadingSettings = DEFAULT_READING

    @property
    def fusion(self) -> str:
        return self.settings.fusion

    @property
    def calibration(self) -> str:
        return self.settings.calibration

    def frame(self):
        """``pandas.DataFrame`` with :data:`CSV_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame([row.record() for row in self.rows], columns=list(CSV_COLUMNS))

    def row(self, suspect: str, method: str = COMBINED) -> Calibration:
        for row in self.rows:
            if row.suspect == suspect and row.method == method:
                return row.calibration
        raise KeyError((suspect, method))

    def reread(self, **settings: str) -> AuditResult:
        """The same audit read with some :class:`ReadingSettings` changed (``reread(fusion="best")``; no model runs
        again), recorded in the provenance (the fusion's name in its own entry, the others in the configuration)."""
        changed = dataclasses.replace(self, settings=self.settings.changed(**settings))
        provenance = {
            **self.provenance,
            "fusion": {**self.provenance.get("fusion", {}), **fusion_provenance(changed.settings.fusion)},
            "config": {**self.provenance.get("config", {}), **changed.settings.config()},
        }
        rows = changed.assessed(changed.roles)
        provenance["fused_statistics"] = _fused_statistics(rows)
        return dataclasses.replace(changed, rows=tuple(rows), provenance=provenance)

    def with_methods(self, methods: Sequence[str]) -> AuditResult:
        """The same audit read with only ``methods`` (some of those it ran): their rows as before, and ``combined``
        fused from them alone (no model runs again). A round that adds a method compares the audit with and without
        it from one run (``benchmarks/audit_selection.py --without``)."""
        extra = [m for m in methods if m not in self.methods]
        if extra:
            raise AuditError(f"this audit did not run {', '.join(extra)}; run it with them to read them")
        config = {**self.provenance.get("config", {}), "methods": list(methods)}
        kept = dataclasses.replace(self, methods=tuple(methods), provenance={**self.provenance, "config": config})
        rows = kept.assessed(kept.roles)
        provenance = {**kept.provenance, "fused_statistics": _fused_statistics(rows)}
        return dataclasses.replace(kept, rows=tuple(rows), provenance=provenance)

    def assessed(self, roles: AuditRoles) -> list[AuditRow]:
        """:func:`assess` of this audit's evidence for ``roles``, with this audit's methods and reading settings."""
        return assess(self.evidence, roles, self.methods, self.alpha, self.settings)

    def fused_null(self, suspect: str) -> dict[str, dict[str, Calibration]]:
        """The members of ``suspect``'s ``combined`` null (:func:`gifviz.audit.fusion.null_calibrations`): each
        independent it is read against, with that independent's calibration per fused method against the other
        independents. Empty where ``combined`` fuses nothing (no usable method, or one read as its own); with fewer
        than 2 members ``combined`` is ``n/a``. A fusion of tail p-values can be read against these without running
        the audit again (``benchmarks/fit_fusion_weights.py``)."""
        read = self._read(suspect)
        used = fused_methods(read.fused, self.settings.one_method)
        return null_calibrations(used, read.calibration_of, read.independents, read.without_value) if used else {}

    def combined_methods(self, suspect: str) -> tuple[str, ...]:
        """The methods ``suspect``'s ``combined`` reads: its usable ones, less those the cross-task rule and the
        weight scope set aside (one of them alone is read as its own)."""
        return tuple(m for m, c in self._read(suspect).fused.items() if c.usable)

    def _read(self, suspect: str) -> _SuspectReading:
        """``suspect`` read as :func:`assess` reads it, with this audit's methods and settings."""
        own_rule, cross_task = _readings(self.evidence, self.roles, self.methods, self.settings)
        return _read_suspect(
            self.evidence, self.roles, suspect, self.methods, self.alpha, self.settings, own_rule, cross_task
        )

    def self_check(self) -> SelfCheck:
        """The audit's own false-positive check: every independent read as a suspect against the other
        independents, by this audit's methods, fusion, calibration rule and rate (no model runs again;
        :mod:`gifviz.audit.self_check`)."""
        rows = self.assessed(dataclasses.replace(self.roles, suspects=self.roles.independents))
        return SelfCheck(tuple(rows), self.roles.independents, self.methods, self.alpha)

    def warnings(self) -> list[str]:
        """What the audit as a whole should be read with (one line each): today, that some suspects of the source's
        architecture are read on a thin same-architecture null (:mod:`gifviz.audit.kin`), counted exactly as their
        rows' notes count it (:attr:`AuditRow.thin_null`: per method fused for them, over the independents that
        method can compare). A suspect with other output classes is read by another rule, and one that is also an
        independent is read leave-one-out: its own row says so, and the warning leaves it out."""
        evidence, independents = self.evidence, self.roles.independents
        thin = [
            row.suspect
            for row in self.rows
            if row.thin_null and row.suspect not in evidence.other_classes and row.suspect not in independents
        ]
        warning = thin_kin_warning(evidence.origin, _kin_of_source(evidence, independents), thin)
        return [warning] if warning else []

    def statistics(self, method: str) -> dict[str, float]:
        """What ``method``'s calibration reads for each model: its relative distance against the independents other
        than itself (for ``same-arch``, those of the source's architecture), or its raw distance from the source
        (``absolute``, and source flips, source crops and the weight methods under each rule); NaN where the method
        cannot compare it. Under ``same-arch``, a suspect with other output classes than the source gives its value
        against every independent it was calibrated against (under the ``other-kinds`` cross-task null, those of
        other architectures than the source's), which is what its verdict was read on (against the independents' own
        such values, which this does not return)."""
        own, cross_task = _readings(self.evidence, self.roles, [method], self.settings)
        suspects = set(self.roles.suspects)
        values = {}
        for m in dict.fromkeys((*self.roles.suspects, *self.roles.independents)):
            reading = (cross_task if m in suspects and m in self.evidence.other_classes else own)[method]
            # a suspect is read without the independents it was calibrated without: itself, when it is also one
            # (leave-one-out), and the source's own kind under the other-kinds cross-task null
            in_use = _suspect_independents(self.evidence, self.roles, m, self.settings)[0] if m in suspects else None
            values[m] = reading.value(m, frozenset() if in_use is None else reading.left_out(in_use))
        return values


def method_calibration(
    evidence: Evidence, method: str, reading: MethodReading, model: str, independents: Sequence[str], alpha: float
) -> Calibration:
    """``model``'s calibration by ``method`` against ``independents`` (``model`` itself not among them): its value
    against each independent's, each read against the other independents. The row keeps the raw distance."""
    distance = evidence.distances[method][model]
    if not math.isfinite(distance):
        return not_available(distance, evidence.reasons[method].get(model, "no distance"))
    left_out = reading.left_out(independents)
    value = reading.value(model, left_out)
    if not math.isfinite(value):
        return not_available(distance, "compares it with none of the independents", len(independents))
    others = [reading.value(j, left_out) for j in independents]  # j is never its own anchor
    calibrated = calibrate(value, others, alpha, reading.floor_scale, reading.min_spread, reading.max_centre)
    return dataclasses.replace(calibrated, distance=distance)


def _noted(calibration: Calibration, note: str) -> Calibration:
    return dataclasses.replace(calibration, note="; ".join(p for p in (note, calibration.note) if p))


def _fused_statistics(rows: Sequence[AuditRow]) -> dict[str, float]:
    """Each suspect's fused statistic, as ``audit.json`` keeps it (NaN for a suspect read by one method's own
    calibration: nothing was fused); a reread audit writes its own, so the JSON never contradicts its rows."""
    return {row.suspect: row.calibration.distance for row in rows if row.method == COMBINED}


def assess(
    evidence: Evidence,
    roles: AuditRoles,
    methods: Sequence[str],
    alpha: float,
    settings: ReadingSettings = DEFAULT_READING,
) -> list[AuditRow]:
    """Rows of an audit from its distances: per suspect, each method's calibration, then ``combined``, read by
    ``settings`` (:class:`ReadingSettings`: the calibration rule, the fusion, the reading of a suspect for which
    ``combined`` fuses one method, the rate spread, the null centre and the cross-task null)."""
    own_rule, cross_task = _readings(evidence, roles, methods, settings)
    rows = []
    for suspect in roles.suspects:
        read = _read_suspect(evidence, roles, suspect, methods, alpha, settings, own_rule, cross_task)
        rows += [AuditRow(suspect, m, c) for m, c in read.calibrations.items()]
        combined = combined_evidence(
            suspect,
            read.fused,
            read.calibration_of,
            read.independents,
            alpha,
            settings.fusion,
            read.without_value,
            settings.one_method,
            settings.combined_score,
        )
        combined = _noted(combined, read.note) if read.note else combined
        # the dissent is read among the methods fused: a method the cross-task rule set aside does not speak
        rows.append(AuditRow(suspect, COMBINED, _with_dissent(combined, read.fused, alpha), thin_null=read.thin_null))
    return rows


def _readings(
    evidence: Evidence, roles: AuditRoles, methods: Sequence[str], settings: ReadingSettings
) -> tuple[dict[str, MethodReading], dict[str, MethodReading]]:
    """Each method's reading by the audit's own rule, and the one for suspects of another task
    (:func:`_cross_task_readings`)."""
    own_rule = {m: MethodReading(evidence, m, roles.independents, settings) for m in methods}
    return own_rule, _cross_task_readings(evidence, roles, methods, settings, own_rule)


@dataclasses.dataclass(frozen=True)
class _SuspectReading:
    """One suspect's calibration per method (its rows), and what ``combined`` reads for it: the calibrations it fuses
    (with the cross-task rule's note when they are fewer), the independents it is calibrated against, those with no
    value in its calibration, and the rule that calibrates each independent of its fused null."""

    calibrations: dict[str, Calibration]
    fused: dict[str, Calibration]
    note: str
    independents: list[str]
    without_value: frozenset[str]
    calibration_of: Callable[[str, str, Sequence[str]], Calibration]
    # whether ``note`` holds the thin-null note (gifviz.audit.kin): a suspect of the source's architecture read
    # against too few of its kind
    thin_null: bool = False


def _read_suspect(
    evidence: Evidence,
    roles: AuditRoles,
    suspect: str,
    methods: Sequence[str],
    alpha: float,
    settings: ReadingSettings,
    own_rule: dict[str, MethodReading],
    cross_task: dict[str, MethodReading],
) -> _SuspectReading:
    """:class:`_SuspectReading` of ``suspect`` (``own_rule`` and ``cross_task``: :func:`assess`'s readings)."""
    readings = cross_task if suspect in evidence.other_classes else own_rule
    independents, null_note = _suspect_independents(evidence, roles, suspect, settings)
    # a method that reads weights is calibrated against every independent it can compare, whatever the cross-task null
    # (gifviz.audit.names.WEIGHT_METHODS says why); for the suspect's null members too, the suspect always left out
    everyone = [i for i in roles.independents if i != suspect]

    def calibration_of(method: str, model: str, others: Sequence[str]) -> Calibration:
        if method in WEIGHT_METHODS:
            others = [i for i in everyone if i != model]
        return method_calibration(evidence, method, readings[method], model, others, alpha)

    calibrations = {m: calibration_of(m, suspect, independents) for m in methods}
    if suspect in roles.independents:
        loo = f"leave-one-out: {suspect} is also an independent, calibrated against the other {{}}"
        calibrations = {
            m: _noted(c, loo.format(len(everyone if m in WEIGHT_METHODS else independents)))
            for m, c in calibrations.items()
        }
    if null_note:  # on the calibrations it made (one a method could not make keeps its reason alone)
        calibrations = {
            m: _noted(c, null_note) if c.usable and m not in WEIGHT_METHODS else c for m, c in calibrations.items()
        }
    fused, note = _cross_task(evidence, suspect, calibrations)
    if settings.weight_scope == "other-task" and suspect not in evidence.other_classes:
        fused, note = _without_weights(fused, note)
    # a suspect of the source's architecture read against too few of its kind is said to be (its reading unchanged)
    thin = ""
    if suspect in evidence.same_architecture:
        thin = thin_kin_note(readings[m].kin_in_use(independents) for m, c in fused.items() if c.usable)
    note = "; ".join(p for p in (note, thin) if p)
    # the null holds only independents read by the suspect's own rule (same-arch's lone kin has no value)
    without_value = frozenset().union(*(readings[m].without_value(independents) for m, c in fused.items() if c.usable))
    return _SuspectReading(calibrations, fused, note, independents, without_value, calibration_of, bool(thin))


def _suspect_independents(
    evidence: Evidence, roles: AuditRoles, suspect: str, settings: ReadingSettings
) -> tuple[list[str], str]:
    """The independents ``suspect`` is calibrated against (itself left out), and a note when the cross-task null
    leaves some out: under ``other-kinds`` (under every calibration rule), a suspect with other output classes than
    the source is read against the audit's independents of other architectures than the source's, as long as there
    are :data:`MIN_INDEPENDENTS` + 1 of them, what ``combined``'s fused null needs when it fuses several methods
    (:data:`gifviz.audit.names.CROSS_TASK_NULLS` says why). A method that cannot compare some of them reads the
    rest, as for every suspect."""
    independents = [i for i in roles.independents if i != suspect]
    if settings.cross_task_null != OTHER_KINDS or suspect not in evidence.other_classes:
        return independents, ""
    kin = _kin_of_source(evidence, independents)
    others = [i for i in independents if i not in evidence.same_architecture]
    if not kin:
        return independents, ""
    if len(others) < MIN_INDEPENDENTS + 1:
        return independents, (
            f"read against every independent: {len(others)} of other architectures than {evidence.origin!r} are too "
            f"few to leave its own kind ({', '.join(kin)}) out"
        )
    return others, (
        f"read against the {len(others)} independents of other architectures than {evidence.origin!r}: its own kind "
        f"({', '.join(kin)}) shares its task, a closeness no model of another task has"
    )


def _kin_of_source(evidence: Evidence, independents: Sequence[str]) -> list[str]:
    """Those of ``independents`` that share the source's architecture, in their order."""
    return [i for i in independents if i in evidence.same_architecture]


def _cross_task_readings(
    evidence: Evidence,
    roles: AuditRoles,
    methods: Sequence[str],
    settings: ReadingSettings,
    own_rule: dict[str, MethodReading],
) -> dict[str, MethodReading]:
    """The readings of a suspect with other output classes than the source: ``relative`` where the rule is
    ``same-arch``. Such a suspect is unlike every independent (another task), and the independents' spread without the
    architecture's share is too narrow for it: on stress seeds 1-44, round two's rule (same-arch for every suspect)
    called 60 of 704 readings of innocent models of the transfer task derived, against 19 with every independent as
    anchor (docs/audit-history.md, step 14). The suspect's value and the independents' are then read alike."""
    if settings.calibration != SAME_ARCH or not evidence.other_classes & set(roles.suspects):
        return own_rule
    relative = settings.changed(calibration=RELATIVE)
    return {m: MethodReading(evidence, m, roles.independents, relative) for m in methods}


def _cross_task(
    evidence: Evidence, suspect: str, calibrations: dict[str, Calibration]
) -> tuple[dict[str, Calibration], str]:
    """The calibrations ``combined`` fuses for ``suspect``, and a note when they are fewer than every usable one: for a
    suspect with other output classes than the source, only :data:`CROSS_TASK_METHODS` (when one of them can compare
    it: where ModelGiF cannot and a weight method can, that method alone, read as its own)."""
    if suspect not in evidence.other_classes:
        return calibrations, ""
    kept = {m: c for m, c in calibrations.items() if m in CROSS_TASK_METHODS and c.usable}
    if not kept:
        return calibrations, ""
    return kept, (
        f"other output classes than {evidence.origin!r}: combined reads {', '.join(kept)} only (the output-based "
        "methods would compare the new task's answers)"
    )


def _without_weights(fused: dict[str, Calibration], note: str) -> tuple[dict[str, Calibration], str]:
    """The calibrations ``combined`` fuses for a suspect of the source's task under the ``other-task`` weight scope:
    without the weight methods, as long as another method can compare the suspect."""
    kept = {m: c for m, c in fused.items() if m not in WEIGHT_METHODS}
    left = [m for m, c in fused.items() if m in WEIGHT_METHODS and c.usable]
    if not left or not any(c.usable for c in kept.values()):
        return fused, note
    why = f"{', '.join(left)} not fused (the weight scope 'other-task': fused for a suspect of another task only)"
    return kept, "; ".join(p for p in (note, why) if p)


def _with_dissent(combined: Calibration, per_method: dict[str, Calibration], alpha: float) -> Calibration:
    """``combined``, noting the methods that alone call the suspect derived when the fusion does not: with few
    independents the fusion's second calibration has little power, and the reader should see the dissent."""
    dissent = [m for m, c in per_method.items() if c.verdict == "derived"]
    if combined.verdict in ("derived", "n/a") or not dissent:
        return combined
    n = sum(c.usable for c in per_method.values())
    if n == 1:  # the only method fused: its own reading says derived, the fused one against the independents does not
        return _noted(
            combined,
            f"{dissent[0]} calls it derived on its own calibration (false-positive rate {alpha:g}), its fused reading "
            "against the independents does not",
        )
    verb = "calls" if len(dissent) == 1 else "each call"
    return _noted(
        combined,
        f"{', '.join(dissent)} alone {verb} it derived (at false-positive rate {alpha:g}: with {n} methods, one of "
        f"them does so for up to {min(1.0, n * alpha):.0%} of independent models)",
    )


def audit(
    zoo: Zoo,
    source: str,
    suspects: Sequence[str] | None = None,
    independents: Sequence[str] | None = None,
    methods: Sequence[str] = DEFAULT_METHODS,
    references: ReferenceSet | None = None,
    field_config: FieldConfig | None = None,
    store: FieldStore | None = None,
    alpha: float = DEFAULT_ALPHA,
    *,
    settings: ReadingSettings = DEFAULT_READING,
    n_refs: int = DEFAULT_N_REFS,
    labelled_pool: ReferenceSet | None = None,
    seed: int = 0,
    progress: ZooProgress | None = None,
) -> AuditResult:
    """Audit the ``suspects`` of ``zoo`` against ``source``, calibrated on ``independents``.

    Args:
        suspects: default all models but the source and the independents.
        independents: default the models with ``relation = "independent"`` and the source's task. A model that is
            both a suspect and an independent is scored against the other independents (leave-one-out).
        methods: :data:`AUDIT_METHODS` names (the distance methods, ``source-flips`` and ``source-crops``); each runs
            once on source, suspects and independents with the source as probe.
        references: probe inputs ``(N, C, H, W)``; default the testbeds' references for this zoo, ``n_refs`` of them
            (the built-in zoo's labelled reference split, else the manifest's folder).
        field_config: ModelGiF's field configuration (default ``FieldConfig(steps=10)``, as the testbeds).
        alpha: the false-positive rate of every verdict, in (0, 1).
        settings: how the distances are read (:class:`ReadingSettings`; default the shipped audit's): among them
            the fusion of ``combined`` (:data:`gifviz.audit.fusion.FUSIONS`) and what each method's evidence is
            read on (``calibration``, :data:`gifviz.audit.names.CALIBRATION_RULES`): ``same-arch`` (default), the
            source's distance to a model against the model's own distances to the independents of the source's
            architecture (all of them when none is in use in a calibration, and for a suspect with other output
            classes, all those it is calibrated against: see ``cross_task_null``); ``relative``, against every
            independent (:mod:`gifviz.audit.reading`); or ``absolute``, the raw distance against the independents'
            from the source.

    Returns rows per suspect: one per method (distance, score, empirical p, Student-t tail p, verdict) and one
    ``combined``; the verdict rule is :mod:`gifviz.audit.calibration`'s. Raises :class:`AuditError` (one line) for
    fewer than 2 independents, a source that is also a suspect, a repeated id or method, or an unknown method; an
    unknown id is the manifest's one line, an unknown reading setting :class:`ReadingSettings`' when it is made.
    """
    if not 0 < alpha < 1:
        raise AuditError(f"alpha is a false-positive rate between 0 and 1; got {alpha}")
    for name in methods:
        check_choice("distance method", name, AUDIT_METHODS)
    if not methods:
        raise AuditError("no method to audit with; name at least one")
    twice = repeated_names(methods)
    if twice:
        raise AuditError(f"method named twice: {', '.join(twice)}; name each method once")
    roles = audit_roles(zoo, source, suspects, independents)
    field_config = field_config or FieldConfig(steps=10)
    if references is None:
        references, default_pool = default_references(zoo, n_refs, store)
        labelled_pool = labelled_pool or default_pool
    evidence = method_evidence(
        zoo,
        source,
        roles.models,
        methods,
        references,
        labelled_pool=labelled_pool,
        field_config=field_config,
        store=store,
        seed=seed,
        progress=progress,
        anchors=roles.independents,
        find_other_classes=True,
        find_same_architecture=True,  # cheap, and reread(calibration=SAME_ARCH) needs it whatever the rule
    )
    rows = assess(evidence, roles, methods, alpha, settings)
    provenance = {
        "command": "audit",
        "config": {
            "source": source,
            "suspects": list(roles.suspects),
            "independents": list(roles.independents),
            "leave_one_out": list(roles.leave_one_out),
            "methods": list(methods),
            "alpha": alpha,
            **settings.config(),
            # the independents of the source's architecture: the same-arch rule's anchors
            "same_architecture": sorted(evidence.same_architecture & set(roles.independents)),
            "seed": seed,
            "field_config": field_config.to_dict(),
            "samples": evidence.samples,
        },
        "fusion": {**fusion_provenance(settings.fusion), "default": DEFAULT_FUSION, "chosen_by": DEFAULT_FUSION_NOTE},
        "fused_statistics": _fused_statistics(rows),
        # a method that could not run at all gives every model the same reason
        "method_failures": {m: next(iter(r.values())) for m, r in evidence.reasons.items() if not evidence.samples[m]},
        **run_provenance(zoo, roles.models, references),
    }
    return AuditResult(roles, tuple(methods), alpha, evidence, tuple(rows), provenance, settings)
