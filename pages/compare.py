"""Compare: two models on the same inputs — both maps, their difference, per-step and per-input distances."""

import streamlit as st

from gifviz.app import resources
from gifviz.app.compare import compare_pair, default_partner, model_caption
from gifviz.distance import METRICS
from gifviz.figures.compare import compare_maps, distance_curves
from gifviz.figures.fields import field_map

current = resources.settings()
st.title("Compare two models")
inputs = resources.page_inputs(current, with_references=True)
zoo, ids, references = inputs.zoo, inputs.ids, inputs.references
left, right = st.columns(2)
first = left.selectbox("Model A", ids, index=0, key="compare_a")
second = right.selectbox("Model B", ids, index=ids.index(default_partner(zoo, ids, first)), key="compare_b")
metric = st.radio("Distance", METRICS, horizontal=True, index=METRICS.index(current.metric))
pair = compare_pair(current, first, second, metric)
columns = st.columns(3)
columns[0].metric("distance", f"{pair.distance.value:.4f}")
columns[1].metric("95% interval (bootstrap over references)", f"{pair.interval.low:.4f} – {pair.interval.high:.4f}")
columns[2].metric("reference images", len(references))
left.caption(model_caption(zoo, first))
right.caption(model_caption(zoo, second))
image_index = st.select_slider(
    "Reference image", options=list(range(len(references))), format_func=lambda i: references.names[i]
)
step = st.slider("Path step", 1, pair.steps, pair.steps) - 1
maps = (field_map(pair.first, image_index, step), field_map(pair.second, image_index, step))
st.plotly_chart(compare_maps(*maps, first, second), width="stretch")
st.plotly_chart(distance_curves(pair.distance, pair.alphas, list(references.names), pair.interval), width="stretch")
