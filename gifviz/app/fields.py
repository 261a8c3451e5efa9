"""What the Fields page shows: a model's field on a reference image or on an image the user uploads, its channels,
path steps and caption. The field on an upload is computed once per image and model, cached by content."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from gifviz.app.resources import open_zoo
from gifviz.app.settings import AppSettings
from gifviz.errors import ReferenceSetError
from gifviz.field.result import Field
from gifviz.pipeline import field_of
from gifviz.refs import ReferenceSet, load_image, reference_set_from_array
from gifviz.space import InputSpace

# The Fields page draws the map at this many path steps side by side (or every step, when there are fewer).
SHOWN_STEPS = 6


@dataclasses.dataclass(frozen=True)
class ShownField:
    """A field and the input it is drawn over.

    Attributes:
        field: ``(N, S, D)`` field of ``model_id``.
        images: ``(N, C, H, W)`` the inputs it was taken on, in the input space's range.
        index: which of the ``N`` inputs is shown.
        name: that input's name (a reference file, or the uploaded file's name).
    """

    field: Field
    images: np.ndarray
    index: int
    name: str

    @property
    def image(self) -> np.ndarray:
        """``(C, H, W)`` the shown input."""
        return self.images[self.index]


@st.cache_data(show_spinner="Computing the field on your image ...", max_entries=16)
def single_field(current: AppSettings, model_id: str, image: np.ndarray) -> Field:
    """Field ``(1, S, D)`` of ``model_id`` on ``image`` ``(C, H, W)`` under the current settings."""
    model = open_zoo(current.manifest).load(model_id)
    return field_of(model, reference_set_from_array(image[None], "your image"), current.field_config())


def uploaded_image(filename: str, data: bytes, space: InputSpace) -> np.ndarray:
    """An uploaded image file's bytes -> ``(C, H, W)`` float32 on ``space``, converted as reference images are; a
    file that is no image raises :class:`~gifviz.errors.ReferenceSetError` naming the upload. The bytes go through a
    private temporary folder because that converter reads files."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ReferenceSetError(
            f"the uploaded file {filename} is not an image that can be read ({type(error).__name__}); "
            "upload a PNG, JPEG, BMP or WebP file"
        ) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(data)
        return load_image(path, space).numpy()


def field_on_upload(current: AppSettings, model_id: str, filename: str, data: bytes) -> ShownField:
    """The field of ``model_id`` on an uploaded image (cached by the image's content)."""
    image = uploaded_image(filename, data, open_zoo(current.manifest).space)
    return ShownField(single_field(current, model_id, image), image[None], 0, filename)


def field_on_reference(field: Field, references: ReferenceSet, index: int) -> ShownField:
    """A reference set's field ``(N, S, D)``, shown on reference ``index``."""
    return ShownField(field, references.images.numpy(), index, references.names[index])


def channel_options(field: Field) -> list[int | None]:
    """The page's channel choices: ``None`` (the mean over channels), then each channel of a multi-channel field."""
    return [None, *range(field.map_shape[0])] if field.map_shape[0] > 1 else [None]


def channel_label(channel: int | None) -> str:
    return "mean" if channel is None else f"channel {channel}"


def shown_steps(steps: int, count: int = SHOWN_STEPS) -> list[int]:
    """Up to ``count`` 0-based path steps spread evenly from the first to the last (both included)."""
    return sorted({round(v) for v in np.linspace(0, steps - 1, min(steps, count))})


def field_caption(shown: ShownField) -> str:
    """The target the field differentiates on the shown input and its value at the input and at the baseline."""
    field, i = shown.field, shown.index
    target = f"class {int(field.targets[i])}" if field.targets is not None else field.config.target_name
    scores = f"y(x) = {float(field.endpoint_scores[i]):.3f}, y(b) = {float(field.baseline_scores[i]):.3f}"
    return f"Target: {target}; {scores}. Red: the output grows with the pixel; blue: it falls."


def path_title(shown: ShownField, model_id: str, step: int) -> str:
    """``"<model> on <input>, a = <node>"`` for path step ``step`` (0-based)."""
    return f"{model_id} on {shown.name}, a = {shown.field.alphas[step]:.2f}"
