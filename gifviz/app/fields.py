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

from gifviz.app.resources import open_zoo, serving_policy
from gifviz.app.serving import LIMIT_VARIABLES, ServingRefused, size_text
from gifviz.app.settings import AppSettings
from gifviz.app.uploads import safe_stem
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


def uploaded_image(filename: str, data: bytes, space: InputSpace, max_bytes: int | None = None) -> np.ndarray:
    """An uploaded image file's bytes -> ``(C, H, W)`` float32 on ``space``, converted as reference images are.

    A file over ``max_bytes`` is refused before it is opened; a file that does not decode whole (not an image, cut
    short, or a "decompression bomb" past Pillow's pixel limit) raises :class:`~gifviz.errors.ReferenceSetError`
    naming the upload. The bytes go through a private temporary folder, under a sanitised name, because that
    converter reads files.
    """
    name = Path(filename.replace("\\", "/")).name
    if max_bytes is not None and len(data) > max_bytes:
        raise ServingRefused(
            f"the uploaded image {name} is {size_text(len(data))}, over this server's limit of "
            f"{size_text(max_bytes)} per upload ({LIMIT_VARIABLES['max_upload_mb']})"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # the container's structure ...
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # ... and every pixel: verify() alone passes a file cut short
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ReferenceSetError(
            f"the uploaded file {name} is not an image that can be read ({type(error).__name__}); "
            "upload a PNG, JPEG, BMP or WebP file"
        ) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{safe_stem(name)}{Path(name).suffix.lower()[:8]}"
        path.write_bytes(data)
        return load_image(path, space).numpy()


def field_on_upload(current: AppSettings, model_id: str, filename: str, data: bytes) -> ShownField:
    """The field of ``model_id`` on an uploaded image (cached by the image's content)."""
    space = open_zoo(current.manifest).space
    image = uploaded_image(filename, data, space, serving_policy().max_upload_bytes)
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
