"""What the Audit page computes: the audit of a source's suspects and the unlearning check, on the app's references
and field settings, cached per question so a rerun evaluates no model; their tables, figure and CSVs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from gifviz.app.resources import (
    StreamlitProgress,
    estimated_seconds,
    open_references,
    open_store,
    open_zoo,
    serving_policy,
)
from gifviz.app.settings import AppSettings
from gifviz.audit import audit, verify_unlearning
from gifviz.audit.names import COMBINED, DEFAULT_CALIBRATION, DEFAULT_UNLEARNING_RULE
from gifviz.audit.roles import AuditRoles, audit_roles
from gifviz.audit.run_audit import AuditResult
from gifviz.audit.unlearning import UnlearningResult
from gifviz.errors import GifvizError
from gifviz.figures.audit import CALIBRATION_AXES, audit_spread_figure
from gifviz.hub.zoo import Zoo


def default_source(zoo: Zoo, ids: Sequence[str]) -> str:
    """The first model of the working set marked ``relation = "source"``, else the first model."""
    return next((i for i in ids if zoo.spec(i).relation == "source"), ids[0])


def default_roles(zoo: Zoo, source: str) -> AuditRoles | None:
    """The audit's default suspects and independents for ``source`` (``None`` when the zoo has too few marked
    independents: the page then asks the user to pick them)."""
    try:
        return audit_roles(zoo, source)
    except GifvizError:  # too few marked independents: the page leaves the pickers for the user to fill
        return None


def _check_cost(current: AppSettings, ids: Sequence[str], methods: Sequence[str]) -> None:
    """Refuse a question estimated beyond the server's computing limit (raises ServingRefused, one line)."""
    serving_policy().check_seconds(estimated_seconds(current, ids, methods))


def run_audit(
    current: AppSettings,
    source: str,
    suspects: tuple[str, ...],
    independents: tuple[str, ...],
    methods: tuple[str, ...],
    alpha: float,
    calibration: str = DEFAULT_CALIBRATION,
) -> AuditResult:
    """:func:`gifviz.audit.audit` on the app's references and field settings (fields from the store), read with
    ``calibration``; switching the rule re-reads the cached audit's distances instead of running the models again."""
    result = _audited(current, source, suspects, independents, methods, alpha)
    return result if calibration == result.calibration else result.reread(calibration=calibration)


@st.cache_data(show_spinner=False, max_entries=8)
def _audited(
    current: AppSettings,
    source: str,
    suspects: tuple[str, ...],
    independents: tuple[str, ...],
    methods: tuple[str, ...],
    alpha: float,
) -> AuditResult:
    zoo = open_zoo(current.manifest)
    _check_cost(current, (source, *suspects, *independents), methods)
    progress = StreamlitProgress(len(suspects) + len(independents) + 1)
    result = audit(
        zoo,
        source,
        list(suspects),
        list(independents),
        methods,
        open_references(current.manifest, current.refs, current.n_refs),
        current.field_config(),
        open_store(),
        alpha,
        progress=progress,
    )
    progress.bar.empty()
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def run_unlearning(
    current: AppSettings,
    original: str,
    candidates: tuple[str, ...],
    retrained: tuple[str, ...],
    rule: str = DEFAULT_UNLEARNING_RULE,
) -> UnlearningResult:
    """:func:`gifviz.audit.verify_unlearning` by ModelGiF on the app's references and field settings, its verdicts
    read by ``rule``."""
    zoo = open_zoo(current.manifest)
    _check_cost(current, (original, *candidates, *retrained), ["modelgif"])
    references = open_references(current.manifest, current.refs, current.n_refs)
    return verify_unlearning(
        zoo,
        original,
        list(candidates),
        list(retrained) or None,
        "modelgif",
        references,
        current.field_config(),
        open_store(),
        rule=rule,
    )


@dataclasses.dataclass(frozen=True)
class AuditView:
    """What the page shows of an audit: the combined verdict per suspect, the full table, the figure, the CSV, and
    the audit's own false-positive check (every independent read as a suspect: its summary and rows), and the audit's
    warnings (:meth:`AuditResult.warnings`)."""

    verdicts: pd.DataFrame
    table: pd.DataFrame
    figure: go.Figure
    csv: str
    check_summary: str
    check_table: pd.DataFrame
    check_warns: bool  # combined calls some independent derived: shown as a warning, not a caption
    warnings: tuple[str, ...]  # shown above the verdicts


def audit_view(result: AuditResult) -> AuditView:
    table = result.frame()
    combined = table[table["method"] == COMBINED]
    verdicts = pd.DataFrame(
        {
            "suspect": combined["suspect"].tolist(),
            "combined verdict": combined["verdict"].tolist(),
            "p-value": combined["p_value"].tolist(),
            **{method: [result.row(s, method).verdict for s in combined["suspect"]] for method in result.methods},
        }
    )
    verdicts_by_suspect = {
        suspect: {method: result.row(suspect, method).verdict for method in result.methods}
        for suspect in result.roles.suspects
    }
    # the values each verdict was read on: relative or raw distances, in each method's own units
    values = {method: result.statistics(method) for method in result.methods}
    figure = audit_spread_figure(
        values, verdicts_by_suspect, list(result.roles.independents), CALIBRATION_AXES[result.calibration]
    )
    check = result.self_check()
    return AuditView(
        verdicts,
        table,
        figure,
        table.to_csv(index=False),
        check.summary(),
        check.frame(),
        bool(check.called()),
        tuple(result.warnings()),
    )


def unlearning_caption(result: UnlearningResult) -> str:
    """The retrained references' distances and what the verdicts mean."""
    retrained = ", ".join(f"{m} {d:.4f}" for m, d in result.retrained_distances.items() if math.isfinite(d))
    return (f"Retrained references: {retrained}. " if retrained else "") + result.explanation
