"""Fields: one model on one reference image, at a path step, as a signed heatmap over the input; along the path."""

import numpy as np
import streamlit as st

from gifviz.app import resources
from gifviz.errors import GifvizError
from gifviz.figures.fields import field_animation, field_map, field_overlay, field_steps
from gifviz.refs import load_image

current = resources.settings()
st.title("Fields")
inputs = resources.page_inputs(current, with_references=True)
zoo, ids, references = inputs.zoo, inputs.ids, inputs.references
model_id = st.selectbox("Model", ids, key="field_model")
source = st.radio("Input", ["a reference image", "my own image"], horizontal=True)
if source == "my own image":
    upload = st.file_uploader("Image (PNG/JPEG)", type=["png", "jpg", "jpeg", "bmp", "webp"])
    if upload is None:
        st.info("Upload an image; it is converted to the zoo's input space.")
        st.stop()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / upload.name
        path.write_bytes(upload.getvalue())
        try:
            image = load_image(path, zoo.space)
        except GifvizError as error:
            st.error(str(error))
            st.stop()
    from gifviz.app.single import single_field

    field = single_field(current, model_id, image.numpy())
    image_index, inputs, name = 0, image.numpy()[None], upload.name
else:
    image_index = st.select_slider("Reference image", options=list(range(len(references))),
                                   format_func=lambda i: references.names[i])  # fmt: skip
    field = resources.fields(current, [model_id])[model_id]
    inputs, name = references.images.numpy(), references.names[image_index]

steps = field.shape[1]
step = st.slider("Path step", 1, steps, steps, help="1 = next to the baseline, last = the input itself") - 1
channels = field.map_shape[0]
channel_choice = st.radio("Channels", ["mean", *[f"channel {c}" for c in range(channels)]], horizontal=True) \
    if channels > 1 else "mean"  # fmt: skip
channel = None if channel_choice == "mean" else int(channel_choice.split()[-1])
values = field_map(field, image_index, step, channel)
st.plotly_chart(field_overlay(inputs[image_index], values, f"{model_id} on {name}, a = {field.alphas[step]:.2f}"),
                width="stretch")  # fmt: skip
positions = sorted({round(v) for v in np.linspace(0, steps - 1, min(steps, 6))})
st.plotly_chart(field_steps(field, image_index, positions, channel), width="stretch")
with st.expander("Animate along the path"):
    st.plotly_chart(field_animation(field, image_index, channel), width="stretch")
target = f"class {int(field.targets[image_index])}" if field.targets is not None else field.config.target_name
scores = (
    f"y(x) = {float(field.endpoint_scores[image_index]):.3f}, y(b) = {float(field.baseline_scores[image_index]):.3f}"
)
st.caption(f"Target: {target}; {scores}. Red: the output grows with the pixel; blue: it falls.")
