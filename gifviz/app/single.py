"""A field on one user-supplied image (not a reference): computed once per image and model, cached by content."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gifviz.app.resources import open_zoo
from gifviz.app.settings import AppSettings
from gifviz.field import Field, compute_field


@st.cache_data(show_spinner="Computing the field on your image ...", max_entries=16)
def single_field(current: AppSettings, model_id: str, image: np.ndarray) -> Field:
    """Field ``(1, S, D)`` of ``model_id`` on ``image`` ``(C, H, W)`` under the current settings."""
    import torch

    zoo = open_zoo(current.manifest)
    model = zoo.load(model_id)
    return compute_field(model.module, torch.from_numpy(image)[None], current.field_config(), model.preprocess,
                         value_range=zoo.space.value_range, model_id=model_id)  # fmt: skip
