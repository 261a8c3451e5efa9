"""Settings: reference set, N, steps, baseline, target, device; the field store and this server's limits."""

import streamlit as st

from gifviz.app import resources
from gifviz.app.settings import APP_TARGETS
from gifviz.config import BASELINES, DEVICES

current = resources.settings()
policy = resources.serving_policy()
st.title("Settings")
st.caption("Every setting is kept in the page address: bookmark or share it to come back to the same view.")
with st.form("settings"):
    manifest = st.text_input("Zoo manifest", current.manifest)
    refs = st.text_input("Reference image folder (empty: the manifest's own)", current.refs or "")
    columns = st.columns(3)
    n_refs = columns[0].number_input(
        "Reference images N", min_value=1, max_value=policy.max_refs, value=min(current.n_refs, policy.max_refs)
    )
    steps = columns[1].number_input(
        "Path steps S", min_value=2, max_value=policy.max_steps, value=min(current.steps, policy.max_steps)
    )
    device = columns[2].selectbox("Device", DEVICES, index=DEVICES.index(current.device))
    columns = st.columns(2)
    baseline = columns[0].selectbox("Baseline", BASELINES, index=BASELINES.index(current.baseline))
    target_index = APP_TARGETS.index(current.target) if current.target in APP_TARGETS else 0
    target = columns[1].selectbox("Target", APP_TARGETS, index=target_index)
    if st.form_submit_button("Apply", type="primary"):
        wanted = current.replace(
            manifest=manifest,
            refs=refs or None,
            n_refs=int(n_refs),
            steps=int(steps),
            baseline=baseline,
            target=target,
            device=device,
        )
        # The form's paths are checked exactly as an address's are: one message each, nothing saved.
        accepted, problems = resources.checked_settings(wanted.to_query(), policy)
        for problem in problems:
            st.error(problem)
        if not problems:
            resources.save_settings(accepted)
            st.rerun()
st.caption(policy.describe())

store = resources.open_store()
st.subheader("Field store")
if store is None:
    st.warning("No usable field store: fields are computed but not kept.")
else:
    records = store.records()
    columns = st.columns(3)
    columns[0].metric("fields", len(records))
    columns[1].metric("size", f"{store.total_bytes() / 2**20:.1f} MiB")
    columns[2].metric("folder", str(store.home), help="Set by the server's operator (GIFVIZ_HOME)")
    if st.button("Check every stored field (checksums)"):
        checked, problems = store.verify()
        (st.warning if problems else st.success)(f"{checked} checked, {len(problems)} bad (removed)")
