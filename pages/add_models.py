"""Add models: search torchvision, timm, the Hugging Face cache or a folder; build, edit and open a working zoo."""

import streamlit as st

from gifviz.app import catalogue as cat
from gifviz.app import reference_uploads as refs
from gifviz.app import resources
from gifviz.errors import GifvizError
from gifviz.hub.catalogue import ORIGINS

state = st.session_state
current = resources.settings()
policy = resources.serving_policy()
st.title("Add models", help="Pick models from the hubs into a working zoo of your own, then open it in the app.")
cat.show_messages(state)
try:
    folder = resources.visitor_folder()
    zoo = cat.current_zoo(state, folder, current)
except GifvizError as error:
    st.error(str(error))
    st.stop()

st.subheader("Search")
left, middle, right = st.columns([3, 3, 1])
query = left.text_input("Search models", placeholder="resnet18, vit small, org/repo", key="catalogue_query")
origins = middle.multiselect(
    "Sources", ORIGINS, default=cat.DEFAULT_SOURCES, format_func=cat.SOURCE_LABELS.get, key="catalogue_sources"
)
offline_only = right.checkbox("Offline only", key="catalogue_offline")
model_folder = (
    st.text_input("Folder of model files on the server", key="catalogue_folder") if "folder" in origins else ""
)
key = cat.search_key(query, origins, model_folder, offline_only)
page = None
try:
    page = cat.search(query, origins, model_folder, cat.page_number(state, key), policy, offline_only)
except cat.CatalogueSearchError as error:
    st.warning(str(error))
except GifvizError as error:
    st.error(str(error))

if page is not None:
    st.caption(cat.page_caption(page))
    table = cat.results_table(page, zoo)
    st.dataframe(table, hide_index=True, height=cat.table_height(len(table)), key="catalogue_results")
    back, forward, _ = st.columns([1, 1, 6])
    if back.button("Previous page", disabled=page.offset == 0):
        cat.turn_page(state, key, page, -1)
        st.rerun()
    if forward.button("Next page", disabled=not page.has_more):
        cat.turn_page(state, key, page, 1)
        st.rerun()
    titles = {row.source: f"{row.source} · {row.title}" for row in page.rows}
    picks = st.multiselect(
        "Pick models from this page", list(titles), format_func=titles.get, key=f"picks{key}{page.offset}"
    )
    chosen = [row for row in page.rows if row.source in picks]
    name, space = "", ""
    if zoo is None:  # the first add creates the zoo: its name, and its space from the first pick's own input size
        name = st.text_input("Name of your working zoo", value="my-zoo")
        space = st.text_input("Input space (CxHxW)", value=cat.suggested_space(chosen[0] if chosen else None))
    if st.button(f"Add {len(chosen)} picked model(s) to your working zoo", type="primary", disabled=not chosen):
        cat.add_picks(state, folder, zoo, name, space, chosen)
        st.rerun()

if zoo is None:
    st.info("Your working zoo starts with the first models you add.")
    st.stop()
st.subheader(f"Your working zoo: {zoo.name}")
shape = "x".join(map(str, zoo.space.shape))
st.caption(f"{len(zoo.models)} models on inputs {shape} · references {zoo.references or 'none'} · {zoo.path}")
st.dataframe(cat.zoo_table(zoo), hide_index=True, key="zoo_models")
if zoo.models:
    columns = st.columns([2, 1, 2, 2])
    model_id = columns[0].selectbox("Model", zoo.ids, key="edit_model")
    action = columns[1].selectbox("Edit", cat.EDITS, key="edit_action")
    text = columns[2].text_input("New id, tag key=value, or parent id", key="edit_text")
    relation = columns[3].text_input("Relation to the parent", placeholder="finetune", key="edit_relation")
    if st.button("Apply the edit"):
        cat.run_action(state, cat.edit_zoo, zoo, action, model_id, text, relation)
        st.rerun()

space_column, button_column = st.columns([3, 1])
new_space = space_column.text_input("Input space of the zoo (CxHxW)", value=shape, key="zoo_space")
if button_column.button("Set the input space"):
    cat.run_action(state, cat.set_space, zoo, new_space)
    st.rerun()

choice = st.radio("Reference images", ["built-in", "a folder", "upload"], horizontal=True, key="refs_choice")
if choice == "built-in" and st.button("Use the built-in references"):
    cat.run_action(state, refs.use_builtin_references, zoo)
    st.rerun()
elif choice == "a folder":
    refs_folder = st.text_input("Folder of reference images on the server", key="refs_folder")
    if st.button("Use this folder"):
        cat.run_action(state, refs.use_reference_folder, zoo, refs_folder, policy)
        st.rerun()
elif choice == "upload":
    label = f"Images, or one zip of images (at most {policy.max_upload_mb:g} MiB each)"
    files = st.file_uploader(label, type=list(refs.UPLOAD_TYPES), accept_multiple_files=True, key="refs_upload")
    if st.button("Use the uploaded images", disabled=not files):
        uploads = [(file.name, file.getvalue()) for file in files or []]
        cat.run_action(state, refs.use_uploaded_references, zoo, uploads, folder, policy)
        st.rerun()

left, right = st.columns(2)
left.download_button(
    "Download the manifest (TOML)", zoo.to_toml(), zoo.path.name, "application/toml", key="download_zoo"
)
if right.button("Open in the app", type="primary", disabled=not zoo.models):
    try:
        opened = cat.open_in_app(zoo, current)
        resources.open_zoo(opened.manifest)  # the serving checks every page applies, before the app switches
        resources.save_settings(opened)
        cat.flash(state, [("success", f"the app now shows {zoo.name}: the other pages compare its models")])
    except GifvizError as error:
        cat.flash(state, [("error", str(error))])
    st.rerun()
if current.manifest == str(zoo.path):
    st.page_link("pages/hub.py", label="Go to the Hub page", icon=":material/inventory_2:")
