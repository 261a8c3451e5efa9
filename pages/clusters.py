"""Clusters: a dendrogram with a selectable linkage and cut, the cluster table and its CSV."""

import streamlit as st

from gifviz.analysis.clustering import LINKAGES
from gifviz.app import matrices, resources, space
from gifviz.figures.space import dendrogram_figure

current = resources.settings()
st.title("Clusters")
inputs = resources.page_inputs(current)
current = matrices.method_choice(current)
matrix = matrices.page_matrix(current, inputs.ids)
columns = st.columns(2)
linkage = columns[0].selectbox("Linkage", LINKAGES)
tree = space.clustering(matrix, linkage)
cut_range = space.cut_range(tree)
threshold = columns[1].slider("Cut at distance", 0.0, cut_range.maximum, cut_range.default, format="%.3f")
st.plotly_chart(dendrogram_figure(tree, threshold), width="stretch")
cut = space.cluster_cut(inputs.zoo, tree, threshold)
st.write(f"{cut.count} clusters at distance {threshold:.3f} · {matrices.describe(current, inputs.ids)}")
st.dataframe(cut.table, hide_index=True, width="stretch")
st.download_button(
    "Download clusters (CSV)", cut.csv, file_name="gifviz-clusters.csv", mime="text/csv", key="download_clusters"
)
