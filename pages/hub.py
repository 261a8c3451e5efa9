"""Hub: the zoo as a table, filters, the working set, another manifest or an uploaded model, computing fields."""

import streamlit as st

from gifviz.app import resources
from gifviz.app.tables import FILTER_COLUMNS, filter_options, filtered, ids_of, with_selection, zoo_table
from gifviz.app.uploads import add_uploaded_model
from gifviz.errors import GifvizError
from gifviz.hub.architectures import known_architectures

current = resources.settings()
st.title("Model hub")
try:
    zoo = resources.open_zoo(current.manifest)
except GifvizError as error:
    st.error(str(error))
    st.stop()
st.caption(f"**{zoo.name}** — {len(zoo.ids)} models on inputs {zoo.space.shape} · {zoo.manifest.path}")
if message := st.session_state.pop("hub_message", None):
    st.success(message)

selected = resources.working_set(current, zoo)
try:
    missing = set(resources.missing(current, zoo.ids))
except GifvizError as error:  # e.g. fewer reference images than N: the table still shows the zoo
    st.error(str(error))
    missing = set(zoo.ids)
table = zoo_table(zoo, {model_id: model_id not in missing for model_id in zoo.ids})

with st.expander("Filter", expanded=True):
    filters = {
        name: column.multiselect(name, filter_options(table, name), key=f"filter_{name}")
        for column, name in zip(st.columns(len(FILTER_COLUMNS)), FILTER_COLUMNS, strict=True)
    }
shown = filtered(table, filters)

st.subheader("Working set")
st.write(f"{len(selected)} models selected; the other pages compare these. Tick rows to change the selection.")
event = st.dataframe(
    with_selection(shown, selected),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    key="zoo_table",
    column_config={"accuracy": st.column_config.NumberColumn(format="%.3f")},
)
rows = event.selection.rows if event is not None else []
buttons = st.columns(3)
if buttons[0].button("Use ticked rows as the working set", disabled=not rows):
    resources.save_settings(current.replace(models=ids_of(shown, rows)))
    st.rerun()
if buttons[1].button("Use all shown models"):
    resources.save_settings(current.replace(models=ids_of(shown)))
    st.rerun()
if buttons[2].button("Reset to the default set"):
    resources.save_settings(current.replace(models=()))
    st.rerun()

st.subheader("Fields")
todo = [model_id for model_id in selected if model_id in missing]
st.write(f"{len(selected) - len(todo)} of {len(selected)} working-set fields are in the store.")
if st.button(f"Compute the {len(todo)} missing field(s)", type="primary", disabled=not todo):
    st.caption("Click anywhere to stop: finished fields are kept.")
    try:
        resources.fields(current, todo, confirmed=True)  # this button is the visitor's confirmation
    except GifvizError as error:
        st.error(str(error))
    else:
        st.session_state["hub_message"] = f"computed {len(todo)} field(s); all working-set fields are in the store"
        st.rerun()

st.subheader("Bring your own")
left, right = st.columns(2)
with left:
    manifest = st.text_input("Open another zoo manifest (.toml)", placeholder="/path/to/zoo.toml")
    if st.button("Open manifest", disabled=not manifest):
        try:
            resources.open_zoo(manifest)
            resources.save_settings(current.replace(manifest=manifest, models=()))
            st.rerun()
        except GifvizError as error:
            st.error(str(error))
with right:
    policy = resources.serving_policy()
    kinds = ["pt", "pth", "safetensors", *(["pt2"] if policy.allow_code else [])]
    label = f"Upload a model (TorchScript .pt or .safetensors, at most {policy.max_upload_mb:g} MiB)"
    upload = st.file_uploader(label, type=kinds)
    arch = st.selectbox("Architecture (for .safetensors)", ["", *known_architectures()])
    classes = st.number_input("Classes (for .safetensors)", min_value=1, value=10)
    if upload is not None and st.button("Add to this zoo"):
        try:  # into this visitor's own folder and working zoo: other visitors' uploads are never touched
            folder = resources.visitor_folder()
            data = upload.getvalue()
            manifest_path = add_uploaded_model(zoo, upload.name, data, arch or None, int(classes), folder, policy)
            resources.save_settings(current.replace(manifest=str(manifest_path)))
            st.session_state["hub_message"] = f"added {upload.name} to your working zoo"
            st.rerun()
        except GifvizError as error:
            st.error(str(error))
