"""Map: UMAP (or MDS for small sets) of model space from the precomputed distances, 2-D or 3-D, coloured by choice."""

import streamlit as st

from gifviz.analysis.embedding import METHODS
from gifviz.app import matrices, resources, space
from gifviz.app.tables import colour_choices, model_property
from gifviz.errors import GifvizError
from gifviz.figures.space import embedding_scatter

current = resources.settings()
st.title("Map of model space")
inputs = resources.page_inputs(current)
current = matrices.method_choice(current)
matrix = matrices.page_matrix(current, inputs.ids)
zoo, ids = inputs.zoo, list(matrix.labels)
columns = st.columns(4)
dimensions = columns[0].radio("Dimensions", [2, 3], horizontal=True)
method = columns[1].selectbox("Embedding", METHODS, help="auto: UMAP from 12 models on, MDS below")
colour = columns[2].selectbox("Colour by", colour_choices(zoo))
seed = columns[3].number_input("Seed", value=0, min_value=0)
try:
    embedding = space.embedding(matrix, dimensions, method, int(seed))
except GifvizError as error:
    st.error(str(error))
    st.stop()
st.plotly_chart(embedding_scatter(embedding, model_property(zoo, ids, colour), colour), width="stretch")
st.caption(f"{embedding.method.upper()} of {matrices.describe(current, ids)}; settings {embedding.settings}")
