"""Clusters: a dendrogram with a selectable linkage and cut, the cluster table and its CSV."""

import numpy as np
import pandas as pd
import streamlit as st

from gifviz.analysis.clustering import LINKAGES, cluster
from gifviz.app import resources
from gifviz.app.exports import clusters_csv
from gifviz.figures.space import dendrogram_figure

current = resources.settings()
st.title("Clusters")
inputs = resources.page_inputs(current, with_matrix=True)
zoo, ids, matrix = inputs.zoo, inputs.ids, inputs.matrix
columns = st.columns(2)
linkage = columns[0].selectbox("Linkage", LINKAGES)
clustering = cluster(matrix, linkage)
heights = clustering.linkage[:, 2]
default = float(np.quantile(heights, 0.75)) if len(heights) else 0.5
threshold = columns[1].slider("Cut at distance", 0.0, float(max(heights.max(), 1e-6)) if len(heights) else 1.0,
                              default, format="%.3f")  # fmt: skip
st.plotly_chart(dendrogram_figure(clustering, threshold), width="stretch")
assignment = clustering.cut(threshold)
order = clustering.ordered_labels
table = pd.DataFrame({
    "model": list(order),
    "cluster": [assignment[m] for m in order],
    "relation": [zoo.spec(m).relation for m in order],
    "parent": [zoo.spec(m).parent for m in order],
    "arch": [zoo.spec(m).arch for m in order],
    "task": [zoo.spec(m).task for m in order],
})  # fmt: skip
st.write(f"{table['cluster'].nunique()} clusters at distance {threshold:.3f}")
st.dataframe(table, hide_index=True, width="stretch")
st.download_button("Download clusters (CSV)", clusters_csv(assignment, order, threshold, linkage),
                   file_name="gifviz-clusters.csv", mime="text/csv", key="download_clusters")  # fmt: skip
