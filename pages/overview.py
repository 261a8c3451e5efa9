"""Overview page: what gifviz measures and how to run it."""

import streamlit as st

import gifviz

st.title("gifviz")
st.caption(f"version {gifviz.__version__}")
st.markdown(
    "How **functionally** close are two trained networks? gifviz compares their *Model Gradient Fields*: "
    "the gradient of each model's output with respect to the input, sampled along integration paths on a shared "
    "input space. Models whose fields agree behave alike."
)
st.code("gifviz distances ZOO.toml --refs DIR --n-refs 32 --steps 20 --out distances.csv", language="bash")
