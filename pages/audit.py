"""Audit: was each suspect derived from the source? Per method and combined, calibrated on independents; and the
unlearning check beside it. Both download their CSV."""

import streamlit as st

from gifviz.app import audit as audit_app
from gifviz.app import resources
from gifviz.audit.names import (
    AUDIT_METHODS,
    CALIBRATION_RULES,
    DEFAULT_ALPHA,
    DEFAULT_CALIBRATION,
    DEFAULT_METHODS,
    DEFAULT_UNLEARNING_RULE,
    UNLEARNING_RULES,
    VERDICT_MEANING,
    twin_methods_warning,
)
from gifviz.errors import GifvizError

current = resources.settings()
st.title("Audit")
inputs = resources.page_inputs(current)
zoo, ids = inputs.zoo, inputs.ids
audit_tab, unlearning_tab = st.tabs(["IP audit", "Unlearning check"])

with audit_tab:
    source = st.selectbox("Source (your model)", ids, index=ids.index(audit_app.default_source(zoo, ids)))
    roles = audit_app.default_roles(zoo, source)
    others = [i for i in ids if i != source]
    independents = st.multiselect(
        "Independents (trained without your model: they calibrate every score)",
        others,
        default=[i for i in (roles.independents if roles else ()) if i in others],
    )
    suspects = st.multiselect(
        "Suspects", others, default=[i for i in (roles.suspects if roles else others) if i in others]
    )
    columns = st.columns([3, 1, 1])
    methods = columns[0].multiselect(
        "Methods",
        AUDIT_METHODS,
        default=list(DEFAULT_METHODS),
        help="source-flips: how often a suspect follows the source's own adversarial flips where the independents "
        "do not (label-only thieves without task data). source-crops: how often it gives the source's own answers "
        "on crops of photographs where the independents do not (the same thieves; not among the defaults since "
        "round twenty-six, README: combined). cka: how alike "
        "the penultimate features are (white-box; combined reads it for suspects of the source's classes only). "
        "README: the audit",
    )
    if warning := twin_methods_warning(methods):
        columns[0].warning(warning)
    alpha = columns[1].number_input("False-positive rate", 0.001, 0.5, DEFAULT_ALPHA, step=0.01, format="%.3f")
    calibration = columns[2].selectbox(
        "Distances read",
        CALIBRATION_RULES,
        index=CALIBRATION_RULES.index(DEFAULT_CALIBRATION),
        help="same-arch: how much closer the source is to a suspect than the independents of the source's "
        "architecture are to that suspect (finds thieves of another architecture, and does not mistake the source's "
        "kind for its lineage); relative: the same against every independent; absolute: the raw distance from the "
        "source",
    )
    if st.button("Run audit", type="primary", disabled=not (suspects and methods)):
        request = (source, tuple(suspects), tuple(independents), tuple(methods), alpha, calibration)
        st.session_state["audit_request"] = request
    request = st.session_state.get("audit_request")
    if request:
        try:
            view = audit_app.audit_view(audit_app.run_audit(current, *request))
        except GifvizError as error:
            st.error(str(error))
        else:
            for warning in view.warnings:
                st.warning(warning)
            st.dataframe(view.verdicts, hide_index=True, width="stretch")
            st.caption(VERDICT_MEANING)
            st.plotly_chart(view.figure, width="stretch", key="audit_spread")
            with st.expander("Every method's evidence"):
                st.dataframe(view.table, hide_index=True, width="stretch")
            (st.warning if view.check_warns else st.caption)(view.check_summary)
            with st.expander("Independents read as suspects (the audit's own false-positive check)"):
                st.dataframe(view.check_table, hide_index=True, width="stretch")
            st.download_button("Download audit (CSV)", view.csv, "audit.csv", "text/csv", key="download_audit")

with unlearning_tab:
    original = st.selectbox("Original model", ids, key="unlearning_original")
    rest = [i for i in ids if i != original]
    candidates = st.multiselect("Candidates (claimed to have forgotten)", rest, key="unlearning_candidates")
    retrained = st.multiselect(
        "Retrained references (trained again without the forgotten data)",
        [i for i in rest if i not in candidates],
        key="unlearning_retrained",
    )
    rule = st.radio(
        "Verdict rule",
        UNLEARNING_RULES,
        index=UNLEARNING_RULES.index(DEFAULT_UNLEARNING_RULE),
        horizontal=True,
        key="unlearning_rule",
        help="closest: like retraining when at least as far from the original as the closest retrained reference. "
        "prediction: unless closer than a model retrained like them would be at the false-positive rate "
        f"{DEFAULT_ALPHA} (the lower prediction bound of their distances).",
    )
    if st.button("Check unlearning", type="primary", disabled=not candidates):
        st.session_state["unlearning_request"] = (original, tuple(candidates), tuple(retrained), rule)
    request = st.session_state.get("unlearning_request")
    if request:
        try:
            result = audit_app.run_unlearning(current, *request)
        except GifvizError as error:
            st.error(str(error))
        else:
            st.dataframe(result.frame(), hide_index=True, width="stretch")
            st.caption(audit_app.unlearning_caption(result))
            csv = result.frame().to_csv(index=False)
            st.download_button("Download check (CSV)", csv, "unlearning.csv", "text/csv", key="download_unlearning")
