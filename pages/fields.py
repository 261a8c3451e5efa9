"""Fields: one model on one reference image, at a path step, as a signed heatmap over the input; along the path."""

import streamlit as st

from gifviz.app import resources
from gifviz.app.fields import (
    channel_label,
    channel_options,
    field_caption,
    field_on_reference,
    field_on_upload,
    path_title,
    shown_steps,
)
from gifviz.errors import GifvizError
from gifviz.figures.fields import field_animation, field_map, field_overlay, field_steps

current = resources.settings()
st.title("Fields")
inputs = resources.page_inputs(current, with_references=True)
references = inputs.references
model_id = st.selectbox("Model", inputs.ids, key="field_model")
source = st.radio("Input", ["a reference image", "my own image"], horizontal=True)
if source == "my own image":
    upload = st.file_uploader("Image (PNG/JPEG)", type=["png", "jpg", "jpeg", "bmp", "webp"])
    if upload is None:
        st.info("Upload an image; it is converted to the zoo's input space.")
        st.stop()
    try:
        shown = field_on_upload(current, model_id, upload.name, upload.getvalue())
    except GifvizError as error:
        st.error(str(error))
        st.stop()
else:
    image_index = st.select_slider(
        "Reference image", options=list(range(len(references))), format_func=lambda i: references.names[i]
    )
    shown = field_on_reference(resources.fields(current, [model_id])[model_id], references, image_index)

field, steps = shown.field, shown.field.shape[1]
step = st.slider("Path step", 1, steps, steps, help="1 = next to the baseline, last = the input itself") - 1
options = channel_options(field)
channel = st.radio("Channels", options, format_func=channel_label, horizontal=True) if len(options) > 1 else None
values = field_map(field, shown.index, step, channel)
st.plotly_chart(field_overlay(shown.image, values, path_title(shown, model_id, step)), width="stretch")
st.plotly_chart(field_steps(field, shown.index, shown_steps(steps), channel), width="stretch")
with st.expander("Animate along the path"):
    st.plotly_chart(field_animation(field, shown.index, channel), width="stretch")
st.caption(field_caption(shown))
