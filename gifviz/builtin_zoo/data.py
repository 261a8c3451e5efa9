"""The built-in zoo's data: coloured digits on procedural backgrounds, 3x32x32 in [0, 1], built deterministically.

Each image takes one 8x8 digit of ``sklearn.datasets.load_digits`` (ships with scikit-learn), scales it, colours it and
places it in one quadrant of a background (flat, gradient, stripes, or a tinted texture from ``skimage.data``). Every
image carries several labels, so one set of images serves many tasks:

- ``digit`` (10), ``parity`` (2), ``ge5`` (digit >= 5, 2): what the digit is;
- ``colour`` (4): the digit's colour; ``background`` (4): the background kind; ``quadrant`` (4): where the digit is.

Splits come from disjoint sets of the 1,797 source digits: ``train``, ``test``, ``attacker`` (a model thief's own
images; it also queries with the training images, without their labels) and ``reference`` (the inputs fields are
sampled on).
"""

from __future__ import annotations

import dataclasses
import hashlib
from functools import cache

import numpy as np
import torch
from PIL import Image

SIZE = 32
TASKS: dict[str, int] = {"digit": 10, "parity": 2, "ge5": 2, "colour": 4, "background": 4, "quadrant": 4}
COLOURS = np.array([[0.95, 0.25, 0.2], [0.2, 0.85, 0.3], [0.25, 0.45, 1.0], [0.95, 0.85, 0.15]], dtype=np.float32)
COLOUR_NAMES = ("red", "green", "blue", "yellow")
BACKGROUND_NAMES = ("flat", "gradient", "stripes", "texture")
QUADRANT_NAMES = ("top-left", "top-right", "bottom-left", "bottom-right")
# Source digits per split (of 1,797) and images made from each.
SPLITS = {"train": (0.55, 4), "test": (0.15, 3), "attacker": (0.2, 5), "reference": (0.1, 2)}
DATA_SEED = 20231001
# The name a built-in zoo's manifest gives its data ([data] generator): the testbeds then draw labelled references
# and SAC-w's labelled pool from these splits instead of the manifest's image folder.
DATA_GENERATOR = "gifviz-builtin-digits"


@dataclasses.dataclass(frozen=True)
class Split:
    """Images ``(N, 3, 32, 32)`` float32 in [0, 1] and one ``(N,)`` int64 label vector per task."""

    images: torch.Tensor
    labels: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, index: torch.Tensor) -> Split:
        return Split(self.images[index], {task: y[index] for task, y in self.labels.items()})

    def where(self, mask: torch.Tensor) -> Split:
        return self.subset(torch.nonzero(mask).flatten())


def class_names(task: str) -> tuple[str, ...]:
    return {
        "digit": tuple(str(d) for d in range(10)),
        "parity": ("even", "odd"),
        "ge5": ("below 5", "5 or more"),
        "colour": COLOUR_NAMES,
        "background": BACKGROUND_NAMES,
        "quadrant": QUADRANT_NAMES,
    }[task]


@cache
def _textures() -> tuple[np.ndarray, ...]:
    """Grayscale texture images in [0, 1] from skimage's bundled samples (no download)."""
    from skimage import data

    return tuple(np.asarray(image, dtype=np.float32) / 255.0 for image in (data.brick(), data.grass(), data.gravel()))


def _background(kind: int, rng: np.random.Generator) -> np.ndarray:
    tint = rng.uniform(0.1, 0.6, size=3).astype(np.float32)
    if kind == 0:  # flat
        return np.broadcast_to(tint, (SIZE, SIZE, 3)).copy()
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)
    if kind == 1:  # linear gradient between two tints in a random direction
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * xx + np.sin(angle) * yy + 1.5) / 3.0
        other = rng.uniform(0.1, 0.6, size=3).astype(np.float32)
        return ramp[..., None] * tint + (1 - ramp[..., None]) * other
    if kind == 2:  # stripes
        angle, frequency = rng.uniform(0, np.pi), rng.uniform(2.0, 5.0)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * (np.cos(angle) * xx + np.sin(angle) * yy))
        return (0.35 + 0.65 * wave[..., None]) * tint
    texture = _textures()[rng.integers(len(_textures()))]  # tinted crop of a texture
    top, left = rng.integers(0, texture.shape[0] - SIZE), rng.integers(0, texture.shape[1] - SIZE)
    crop = texture[top : top + SIZE, left : left + SIZE]
    return (0.3 + 0.9 * crop[..., None]) * tint


def _compose(digit_image: np.ndarray, colour: int, background: int, quadrant: int, rng: np.random.Generator):
    scale = int(rng.integers(18, 23))
    glyph = Image.fromarray((digit_image / 16.0 * 255).astype(np.uint8)).resize((scale, scale), Image.BILINEAR)
    alpha = np.asarray(glyph, dtype=np.float32) / 255.0
    canvas = _background(background, rng)
    half = SIZE // 2
    row0 = (quadrant // 2) * half + int(rng.integers(0, max(1, half - scale // 2)))
    col0 = (quadrant % 2) * half + int(rng.integers(0, max(1, half - scale // 2)))
    row0, col0 = min(row0, SIZE - scale), min(col0, SIZE - scale)
    region = canvas[row0 : row0 + scale, col0 : col0 + scale]
    shade = COLOURS[colour] * rng.uniform(0.85, 1.0)
    canvas[row0 : row0 + scale, col0 : col0 + scale] = region * (1 - alpha[..., None]) + shade * alpha[..., None]
    noise = rng.normal(0, 0.02, size=canvas.shape).astype(np.float32)
    return np.clip(canvas + noise, 0.0, 1.0).astype(np.float32)


def _make_split(name: str, digit_index: np.ndarray, copies: int, digits, targets) -> Split:
    rng = np.random.default_rng([DATA_SEED, list(SPLITS).index(name)])
    images, labels = [], {task: [] for task in TASKS}
    for index in digit_index:
        for _ in range(copies):
            colour, background, quadrant = (int(v) for v in rng.integers(0, 4, size=3))
            images.append(_compose(digits[index], colour, background, quadrant, rng))
            digit = int(targets[index])
            for task, value in zip(
                TASKS, (digit, digit % 2, int(digit >= 5), colour, background, quadrant), strict=True
            ):
                labels[task].append(value)
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    split = Split(stacked, {task: torch.tensor(values, dtype=torch.int64) for task, values in labels.items()})
    # Copies of one digit are made together; shuffle so that any prefix of a split is varied.
    return split.subset(torch.from_numpy(rng.permutation(len(split))))


@cache
def zoo_data() -> dict[str, Split]:
    """All four splits (cached in memory; about 17 MB)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(DATA_SEED).permutation(len(bunch.target))
    splits, start = {}, 0
    for name, (fraction, copies) in SPLITS.items():
        count = round(fraction * len(order))
        splits[name] = _make_split(name, order[start : start + count], copies, bunch.images, bunch.target)
        start += count
    return splits


def split_digest(split: Split) -> str:
    """sha256 of a split's images (quantized to uint8) and labels: proves two builds used the same data."""
    h = hashlib.sha256()
    h.update((split.images * 255).round().to(torch.uint8).numpy().tobytes())
    for task in sorted(split.labels):
        h.update(task.encode())
        h.update(split.labels[task].numpy().tobytes())
    return h.hexdigest()
