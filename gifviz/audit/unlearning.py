"""``verify_unlearning``: is each candidate like a model retrained without the forgotten data, or still the original?

Rule: with retrained references, a candidate is ``like retraining`` when its distance from the original is at least
the retrained references' threshold (:func:`retrained_threshold`: ``closest``, the closest reference's distance, the
unlearning testbed's rule in :mod:`gifviz.bench.unlearning`; or ``prediction``, a lower prediction bound of their
distances at the false-positive rate), and ``close to the original`` otherwise. A retrained model that is also a
candidate is judged against the *other* retrained references (leave-one-out). Without retrained references there is
no scale for "far enough": the distances are reported with what they mean and the verdict is ``inconclusive``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from gifviz.audit.evidence import Evidence, method_evidence
from gifviz.audit.names import (
    CLOSEST,
    DEFAULT_ALPHA,
    DEFAULT_N_REFS,
    DEFAULT_UNLEARNING_RULE,
    PREDICTION,
    UNLEARNING_RULES,
)
from gifviz.audit.provenance import default_references, run_provenance
from gifviz.audit.roles import UnlearningRoles, unlearning_roles
from gifviz.config import FieldConfig
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods.registry import distance_method
from gifviz.pipeline import ZooProgress
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore

CSV_COLUMNS = ("candidate", "distance", "verdict", "threshold", "note")
EXPLANATIONS = {
    CLOSEST: "a candidate is 'like retraining' when it is at least as far from the original as the closest retrained "
    "model (threshold), else 'close to the original'; a retrained candidate is judged leave-one-out",
    PREDICTION: "a candidate is 'close to the original' when it is closer to the original than the lower prediction "
    "bound of the retrained references' distances (threshold; a model retrained like them falls below it at the "
    "false-positive rate only), else 'like retraining'; a retrained candidate is judged leave-one-out",
}
NO_REFERENCE = (
    "no model retrained without the forgotten data was named, so there is no scale for 'far enough': a distance of 0 "
    "is the original's own function and larger is further from it, but how far genuine unlearning moves a model "
    "depends on the data forgotten; name retrained models with --retrained for a verdict"
)


@dataclasses.dataclass(frozen=True)
class UnlearningRow:
    """One candidate: its distance from the original, the retrained threshold it was judged by, the verdict."""

    candidate: str
    distance: float
    threshold: float
    verdict: str
    note: str = ""

    def record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CSV_COLUMNS}


@dataclasses.dataclass(frozen=True)
class UnlearningResult:
    """The verdict per candidate, the retrained references' distances, and the explanation when there are none."""

    roles: UnlearningRoles
    method: str
    rows: tuple[UnlearningRow, ...]
    retrained_distances: dict[str, float]
    explanation: str
    provenance: dict[str, Any]

    def frame(self):
        """``pandas.DataFrame`` with :data:`CSV_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame([row.record() for row in self.rows], columns=list(CSV_COLUMNS))

    def verdict(self, candidate: str) -> str:
        return next(row.verdict for row in self.rows if row.candidate == candidate)


def rule_problem(rule: str, alpha: float) -> str | None:
    """What is wrong with ``rule`` and ``alpha`` as a verdict rule and its false-positive rate, in one line; ``None``
    when nothing is."""
    if rule not in UNLEARNING_RULES:
        return f"unknown unlearning rule {rule!r}; choose one of {', '.join(UNLEARNING_RULES)}"
    if not 0 < alpha < 1:
        return f"the false-positive rate alpha must be between 0 and 1, such as 0.05; got {alpha!r}"
    return None


def retrained_threshold(references: Sequence[float], rule: str, alpha: float) -> tuple[float, str]:
    """The distance from the original at or above which a candidate is ``like retraining``, from the finite distances
    of the retrained ``references`` (at least one), and a note when the rule could not be read as named.

    ``closest``: the smallest reference distance. ``prediction``: ``exp(m - t * s * sqrt(1 + 1/n))`` for the ``n``
    references' log-distances of mean ``m`` and standard deviation ``s`` (``ddof=1``), ``t`` the Student-t quantile
    ``1 - alpha`` with ``n - 1`` degrees of freedom: the one-sided lower prediction bound for one more model retrained
    like them. Log, since distances are positive and spread in proportion to their size. With one reference (no
    spread) or a reference at distance 0 or below (no log), it is the closest rule, and the note says why.
    """
    if problem := rule_problem(rule, alpha):
        raise ValueError(problem)
    closest = float(min(references))
    if rule == CLOSEST:
        return closest, ""
    if len(references) < 2:
        return closest, "one retrained reference gives no spread: judged against its distance (the closest rule)"
    if closest <= 0:
        return closest, "a retrained reference at distance <= 0 has no log: judged by the closest rule"
    logs = np.log(np.asarray(references, dtype=float))
    n = len(logs)
    quantile = float(scipy.stats.t.ppf(1 - alpha, n - 1))
    return float(np.exp(logs.mean() - quantile * logs.std(ddof=1) * math.sqrt(1 + 1 / n))), ""


def judge(
    evidence: Evidence,
    roles: UnlearningRoles,
    method: str,
    rule: str = DEFAULT_UNLEARNING_RULE,
    alpha: float = DEFAULT_ALPHA,
) -> list[UnlearningRow]:
    """Rows from the distances of ``method`` by ``rule`` at false-positive rate ``alpha`` (see the module docstring
    and :func:`retrained_threshold`)."""
    return judge_distances(evidence.distances[method], evidence.reasons[method], roles, rule, alpha)


def judge_distances(
    distances: Mapping[str, float],
    reasons: Mapping[str, str],
    roles: UnlearningRoles,
    rule: str = DEFAULT_UNLEARNING_RULE,
    alpha: float = DEFAULT_ALPHA,
) -> list[UnlearningRow]:
    """:func:`judge` on given distances from the original (``reasons``: why a model has none), so that several rules
    can read one method's distances."""
    rows = []
    for candidate in roles.candidates:
        distance = distances[candidate]
        references = [r for r in roles.retrained if r != candidate]
        finite = [distances[r] for r in references if math.isfinite(distances[r])]
        if not math.isfinite(distance):
            reason = reasons.get(candidate, "no distance")
            rows.append(UnlearningRow(candidate, distance, math.nan, "n/a", reason))
        elif not roles.retrained:
            rows.append(UnlearningRow(candidate, distance, math.nan, "inconclusive", NO_REFERENCE))
        elif not finite:
            why = "the only retrained reference is this candidate" if not references else "no retrained distance"
            note = f"{why}; name other retrained models"
            rows.append(UnlearningRow(candidate, distance, math.nan, "inconclusive", note))
        else:
            threshold, rule_note = retrained_threshold(finite, rule, alpha)
            verdict = "like retraining" if distance >= threshold else "close to the original"
            loo = candidate in roles.retrained
            notes = [f"leave-one-out: judged against the other {len(finite)} retrained"] if loo else []
            notes += [rule_note] if rule_note else []
            # a retrained reference with no distance leaves a threshold that can only be higher: say so
            unread = [r for r in references if not math.isfinite(distances[r])]
            if unread:
                why = "; ".join(f"{r}: {reasons.get(r, 'no distance')}" for r in unread)
                notes.append(f"judged against {len(finite)} of {len(references)} retrained ({why})")
            rows.append(UnlearningRow(candidate, distance, threshold, verdict, "; ".join(notes)))
    return rows


def verify_unlearning(
    zoo: Zoo,
    original: str,
    candidates: Sequence[str],
    retrained: Sequence[str] | None = None,
    method: str = "modelgif",
    references: ReferenceSet | None = None,
    field_config: FieldConfig | None = None,
    store: FieldStore | None = None,
    *,
    rule: str = DEFAULT_UNLEARNING_RULE,
    alpha: float = DEFAULT_ALPHA,
    n_refs: int = DEFAULT_N_REFS,
    seed: int = 0,
    progress: ZooProgress | None = None,
) -> UnlearningResult:
    """Judge each of ``candidates`` against the ``original`` and the ``retrained`` references by ``method``'s
    distance (default ModelGiF, which caught every approximately unlearned model on the outside zoo), read by
    ``rule`` (:data:`~gifviz.audit.names.UNLEARNING_RULES`) at false-positive rate ``alpha``.

    ``references``: probe inputs ``(N, C, H, W)``; default the testbeds' references for this zoo (``n_refs``).
    Raises :class:`~gifviz.audit.roles.AuditError` (one line) for a repeated id or the original in another role; an
    unknown id is the manifest's one line.
    """
    distance_method(method)
    if problem := rule_problem(rule, alpha):  # before any model runs
        raise ConfigError(problem)
    roles = unlearning_roles(zoo, original, candidates, retrained)
    field_config = field_config or FieldConfig(steps=10)
    labelled_pool = None
    if references is None:
        references, labelled_pool = default_references(zoo, n_refs, store)
    evidence = method_evidence(
        zoo,
        original,
        roles.models,
        [method],
        references,
        labelled_pool=labelled_pool,
        field_config=field_config,
        store=store,
        seed=seed,
        progress=progress,
    )
    rows = judge(evidence, roles, method, rule, alpha)
    explanation = NO_REFERENCE if not roles.retrained else EXPLANATIONS[rule]
    provenance = {
        "command": "verify-unlearning",
        "config": {
            "original": original,
            "candidates": list(roles.candidates),
            "retrained": list(roles.retrained),
            "method": method,
            "rule": rule,
            "alpha": alpha,
            "seed": seed,
            "field_config": field_config.to_dict(),
            "samples": evidence.samples[method],
        },
        "explanation": explanation,
        **run_provenance(zoo, roles.models, references),
    }
    retrained_distances = {r: evidence.distances[method][r] for r in roles.retrained}
    return UnlearningResult(roles, method, tuple(rows), retrained_distances, explanation, provenance)
