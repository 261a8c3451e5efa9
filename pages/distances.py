"""Distances: the pairwise matrix as a heatmap ordered by clustering, with CSV and provenance downloads."""

import streamlit as st

from gifviz.analysis.clustering import LINKAGES
from gifviz.app import matrices, resources, space
from gifviz.app.exports import shown_matrix
from gifviz.app.tables import model_tags
from gifviz.distance import METRICS
from gifviz.errors import GifvizError
from gifviz.figures.matrix import distance_heatmap

current = resources.settings()
st.title("Distances")
try:
    zoo = resources.open_zoo(current.manifest)
    ids = resources.working_set(current, zoo)
    columns = st.columns(2)
    metric = columns[0].selectbox("Distance variant", METRICS, index=METRICS.index(current.metric))
    linkage = columns[1].selectbox("Order rows by clustering with", LINKAGES, index=0)
    if metric != current.metric:
        current = current.replace(metric=metric)
        resources.save_settings(current)
    matrix = matrices.matrix(current, ids)
except GifvizError as error:
    st.error(str(error))
    st.stop()
order = space.clustering(matrix, linkage).ordered_labels
shown = shown_matrix(matrix, order, linkage)
st.plotly_chart(distance_heatmap(shown, tags=model_tags(zoo, ids)), width="stretch", key="distance_heatmap")
st.caption(
    f"{len(ids)} models · N = {current.n_refs} references · S = {current.steps} steps · "
    f"baseline {current.baseline} · target {current.target}"
)
downloads = st.columns(2)
downloads[0].download_button(
    "Download CSV", shown.to_csv_text(), file_name="gifviz-distances.csv", mime="text/csv", key="download_csv"
)
downloads[1].download_button(
    "Download provenance (JSON)",
    shown.provenance_json(),
    file_name="gifviz-distances.csv.json",
    mime="application/json",
    key="download_json",
)
