"""Crops of natural photographs at any input space's shape: probes off the task every model was trained on.

On its own task data a model stolen through label queries answers like any good independent model (both are right
almost everywhere), so agreement there says little. Off the task, each model's answers are its own: independent models
disagree on most crops of photographs, while a model trained to copy the source's answers on such images keeps
copying them on new ones.

The photographs ship inside scikit-image's wheel (no download). They are a fixed, documented choice: scenes a model of
any small-image task never saw as training data (coins, cells, a retina, a phantom, binary shapes).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from PIL import Image

# skimage.data photographs available offline; text scans are left out, since crops of them could hold characters.
PROBE_PHOTOS = ("coins", "cell", "retina", "microaneurysms", "shepp_logan_phantom", "horse", "binary_blobs")
# Keeps this random stream apart from any other use of the same seed.
_STREAM = 20_231_001


@cache
def _photographs() -> tuple[np.ndarray, ...]:
    """Each photograph as float32 ``(H, W, 3)`` in [0, 1] (grayscale ones repeated over three channels)."""
    from skimage import data

    # binary_blobs draws its shapes at random on every call unless seeded: seeded, every run sees the same probes.
    special = {"binary_blobs": lambda: data.binary_blobs(rng=0)}
    photos = []
    for name in PROBE_PHOTOS:
        image = np.asarray(special.get(name, getattr(data, name))(), dtype=np.float32)
        image = image / 255.0 if image.max() > 1.0 else image
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        photos.append(np.ascontiguousarray(image[..., :3]))
    return tuple(photos)


def _as_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """``(H, W, 3)`` -> ``(channels, H, W)``: colour kept for 3 channels, luminance repeated otherwise."""
    if channels == 3:
        return rgb.transpose(2, 0, 1)
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(luminance[None], channels, axis=0)


def natural_crops(
    count: int,
    channels: int,
    size: tuple[int, int],
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    stream: int = 0,
) -> torch.Tensor:
    """``count`` crops ``(count, channels, H, W)`` in ``value_range``, the same for the same arguments.

    Each is a square of a random photograph, with a side from the input's longer side (or the photograph's short
    side, when that is smaller: then the crop is enlarged) to half the photograph's short side. It is area-resized to
    ``H x W`` (a non-square input gets a stretched square), flipped at random, contrast-stretched over its three colour
    channels to the full range, and inverted for half of them (task images may be light on dark or the reverse). A
    one-channel crop is the luminance of that colour crop, so a crop of the one colour photograph (the retina) may not
    span the full range. ``stream`` draws another set of crops for the same ``seed`` (a second use of crops beside
    off-task disagreement's).
    """
    # stream 0 keeps the crops every earlier audit drew; another stream gives other crops for the same seed
    rng = np.random.default_rng([_STREAM, seed, stream] if stream else [_STREAM, seed])
    height, width = size
    photos = _photographs()
    crops = np.empty((count, channels, height, width), dtype=np.float32)
    for k in range(count):
        photo = photos[rng.integers(len(photos))]
        short = min(photo.shape[:2])
        smallest = min(max(height, width), short)  # never upsample a crop when the photograph allows it
        side = int(rng.integers(smallest, max(short // 2, smallest) + 1))
        top = int(rng.integers(0, photo.shape[0] - side + 1))
        left = int(rng.integers(0, photo.shape[1] - side + 1))
        square = photo[top : top + side, left : left + side]
        # PIL resizes float images one channel at a time
        planes = [Image.fromarray(square[..., c]).resize((width, height), Image.BOX) for c in range(3)]
        patch = np.stack([np.asarray(plane) for plane in planes], axis=2)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        low, high = float(patch.min()), float(patch.max())
        patch = (patch - low) / (high - low) if high - low > 1e-3 else np.zeros_like(patch)
        if rng.random() < 0.5:
            patch = 1.0 - patch
        crops[k] = _as_channels(np.ascontiguousarray(patch, dtype=np.float32), channels)
    low, high = value_range
    return torch.from_numpy(crops * (high - low) + low)


def crops_like(
    count: int,
    shape: torch.Size | tuple[int, ...],
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    stream: int = 0,
) -> torch.Tensor:
    """:func:`natural_crops` for inputs like references of ``shape`` ``(N, C, H, W)``: ``(count, C, H, W)``."""
    _, channels, height, width = shape
    return natural_crops(count, channels, (height, width), value_range, seed, stream)
