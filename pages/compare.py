"""Compare: two models on the same inputs — both maps, their difference, per-step and per-input distances."""

import streamlit as st

from gifviz.analysis.stats import bootstrap_mean
from gifviz.app import resources
from gifviz.distance import METRICS, field_distance
from gifviz.figures.compare import compare_maps, distance_curves
from gifviz.figures.fields import field_map

current = resources.settings()
st.title("Compare two models")
inputs = resources.page_inputs(current, with_references=True)
zoo, ids, references = inputs.zoo, inputs.ids, inputs.references
left, right = st.columns(2)
first = left.selectbox("Model A", ids, index=0, key="compare_a")
default_b = next((i for i in ids if zoo.spec(i).parent == first), ids[min(1, len(ids) - 1)])
second = right.selectbox("Model B", ids, index=ids.index(default_b), key="compare_b")
metric = st.radio("Distance", METRICS, horizontal=True, index=METRICS.index(current.metric))
fields = resources.fields(current, [first, second])
result = field_distance(fields[first], fields[second], metric)
interval = bootstrap_mean(result.per_input)
columns = st.columns(3)
columns[0].metric("distance", f"{result.value:.4f}")
columns[1].metric("95% interval (bootstrap over references)", f"{interval.low:.4f} – {interval.high:.4f}")
columns[2].metric("reference images", len(references))
for model_id, column in ((first, left), (second, right)):
    spec = zoo.spec(model_id)
    column.caption(f"{model_id}: {spec.arch}, task {spec.task}, relation {spec.relation or '-'}, "
                   f"parent {spec.parent or '-'}")  # fmt: skip
image_index = st.select_slider("Reference image", options=list(range(len(references))),
                               format_func=lambda i: references.names[i])  # fmt: skip
step = st.slider("Path step", 1, fields[first].shape[1], fields[first].shape[1]) - 1
st.plotly_chart(compare_maps(field_map(fields[first], image_index, step), field_map(fields[second], image_index, step),
                             first, second), width="stretch")  # fmt: skip
st.plotly_chart(distance_curves(result, fields[first].alphas.numpy(), list(references.names), interval),
                width="stretch")  # fmt: skip
