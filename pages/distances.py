"""Distances: the pairwise matrix of the chosen method as a heatmap ordered by clustering, with CSV and provenance
downloads."""

import streamlit as st

from gifviz.analysis.clustering import LINKAGES
from gifviz.app import matrices, resources, space
from gifviz.app.exports import shown_matrix
from gifviz.app.tables import model_tags
from gifviz.distance import METRICS
from gifviz.figures.matrix import distance_heatmap

current = resources.settings()
st.title("Distances")
inputs = resources.page_inputs(current)
zoo, ids = inputs.zoo, inputs.ids
columns = st.columns(3)
current = matrices.method_choice(current, columns[0])
if current.method == "modelgif":
    metric = columns[1].selectbox("Distance variant", METRICS, index=METRICS.index(current.metric))
    if metric != current.metric:
        current = current.replace(metric=metric)
        resources.save_settings(current)
linkage = columns[2].selectbox("Order rows by clustering with", LINKAGES, index=0)
matrix = matrices.page_matrix(current, ids)
ids = list(matrix.labels)
order = space.clustering(matrix, linkage).ordered_labels
shown = shown_matrix(matrix, order, linkage)
heatmap = distance_heatmap(shown, tags=model_tags(zoo, ids), title=matrices.heatmap_title(current))
st.plotly_chart(heatmap, width="stretch", key="distance_heatmap")
st.caption(matrices.describe(current, ids))
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
