"""The stress zoos' data, 1x16x16 grayscale in [0, 1], all of it shipped inside installed wheels and drawn per seed.

- **Digits**: ``sklearn.datasets.load_digits`` (1,797 8x8 images), upscaled to 16x16. The digits are split by the
  zoo's seed into disjoint ``train`` (the owner's training set), ``test`` (accuracy and agreement checks),
  ``attacker`` (a thief's own unlabelled task images) and ``reference`` (the inputs fields are sampled on). Every
  digit gives a few copies, each with a small random rotation and shift and pixel noise. Labels: ``digit``,
  ``parity``, ``ge5``.
- **Natural images**: grayscale crops of ``skimage.data`` photographs, resized to 16x16 with a random flip, contrast
  stretch and (half of them) inversion: what a label-only thief who owns no task data sends to the victim. Query
  crops and held-out crops (for the zoo's own agreement check) come from disjoint photographs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from functools import cache

import numpy as np
import torch
from PIL import Image

from gifviz.builtin_zoo.data import Split

SIZE = 16
# Keeps the stress zoos' random streams apart from any other use of the same seed.
STREAM = 16_2024
DATA_GENERATOR = "gifviz-stress-digits"
# Fraction of the 1,797 digits per split, and augmented copies made of each.
SPLITS: dict[str, tuple[float, int]] = {
    "train": (0.5, 3),
    "test": (0.2, 2),
    "attacker": (0.2, 3),
    "reference": (0.1, 2),
}
# skimage.data photographs (no download needed). Text scans are left out: crops of them could hold digits.
QUERY_PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "rocket",
    "moon",
    "brick",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "clock",
)
HELD_OUT_PHOTOS = ("coins", "cell", "retina")
HELD_OUT_CROPS = 1000


def task_labels(digits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every task's labels ``(N,)`` from digit labels ``(N,)``: digit, parity (odd = 1), ge5 (digit >= 5 = 1)."""
    return {"digit": digits, "parity": digits % 2, "ge5": (digits >= 5).long()}


def _upscale(digit: np.ndarray) -> Image.Image:
    """One 8x8 digit (values 0-16) as a 16x16 grayscale image."""
    return Image.fromarray((digit / 16.0 * 255).astype(np.uint8)).resize((SIZE, SIZE), Image.BILINEAR)


def _augmented(base: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``base`` rotated by up to 10 degrees, shifted by up to one pixel, with noise: ``(16, 16)``."""
    angle = float(rng.uniform(-10, 10))
    shift = tuple(int(v) for v in rng.integers(-1, 2, size=2))
    moved = np.asarray(base.rotate(angle, resample=Image.BILINEAR, translate=shift), dtype=np.float32) / 255.0
    return np.clip(moved + rng.normal(0, 0.02, size=moved.shape), 0.0, 1.0).astype(np.float32)


def _make_split(name: str, index: np.ndarray, copies: int, images: np.ndarray, targets: np.ndarray, seed: int):
    rng = np.random.default_rng([STREAM, seed, list(SPLITS).index(name)])
    pictures, digits = [], []
    for i in index:
        base = _upscale(images[i])
        for _ in range(copies):
            pictures.append(_augmented(base, rng))
            digits.append(int(targets[i]))
    stacked = torch.from_numpy(np.stack(pictures)).unsqueeze(1).contiguous()
    split = Split(stacked, task_labels(torch.tensor(digits, dtype=torch.int64)))
    # Copies of one digit are made together; shuffle so that any prefix of a split is varied.
    return split.subset(torch.from_numpy(rng.permutation(len(split))))


@cache
def digit_splits(seed: int) -> dict[str, Split]:
    """The four digit splits of the zoo with this ``seed``; images ``(N, 1, 16, 16)``; disjoint source digits."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng([STREAM, seed]).permutation(len(bunch.target))
    splits, start = {}, 0
    for name, (fraction, copies) in SPLITS.items():
        count = round(fraction * len(order))
        splits[name] = _make_split(name, order[start : start + count], copies, bunch.images, bunch.target, seed)
        start += count
    return splits


@cache
def _photos(names: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Grayscale photographs ``(H, W)`` float32 in [0, 1] from skimage's bundled samples."""
    from skimage import data

    photos = []
    for name in names:
        image = np.asarray(getattr(data, name)(), dtype=np.float32)
        if image.ndim == 3:  # RGB(A) -> luminance
            image = image[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        photos.append(image / 255.0)
    return tuple(photos)


def _crops(names: tuple[str, ...], count: int, rng: np.random.Generator) -> torch.Tensor:
    """``count`` crops ``(count, 1, 16, 16)``: a random photograph, a square of 16 px to half its short side,
    area-resized, flipped at random, contrast-stretched to [0, 1], and inverted for half of them (digits are light
    on dark, photographs mostly the reverse: a thief without task data tries both)."""
    photos = _photos(names)
    crops = np.empty((count, SIZE, SIZE), dtype=np.float32)
    for k in range(count):
        photo = photos[rng.integers(len(photos))]
        side = int(rng.integers(SIZE, min(photo.shape) // 2 + 1))
        top, left = (int(rng.integers(0, extent - side + 1)) for extent in photo.shape)
        patch = Image.fromarray(photo[top : top + side, left : left + side]).resize((SIZE, SIZE), Image.BOX)
        pixels = np.asarray(patch, dtype=np.float32)
        if rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        low, high = float(pixels.min()), float(pixels.max())
        pixels = (pixels - low) / (high - low) if high - low > 1e-3 else np.zeros_like(pixels)
        crops[k] = 1.0 - pixels if rng.random() < 0.5 else pixels
    return torch.from_numpy(crops).unsqueeze(1).contiguous()


@cache
def natural_queries(seed: int, count: int) -> torch.Tensor:
    """The natural-image query pool ``(count, 1, 16, 16)`` of the zoo with this ``seed`` (from :data:`QUERY_PHOTOS`).

    A thief with a smaller budget takes a prefix: budgets nest, so more queries only add images."""
    return _crops(QUERY_PHOTOS, count, np.random.default_rng([STREAM, seed, 100]))


@cache
def natural_held_out(seed: int) -> torch.Tensor:
    """Crops ``(1000, 1, 16, 16)`` of photographs no thief queried (:data:`HELD_OUT_PHOTOS`): agreement off the task."""
    return _crops(HELD_OUT_PHOTOS, HELD_OUT_CROPS, np.random.default_rng([STREAM, seed, 200]))


@dataclasses.dataclass(frozen=True)
class Pool:
    """What a model was trained or queried on: ``images`` ``(N, 1, 16, 16)``, named (``digits:train``,
    ``natural``, ...) and digested, so the manifest can say exactly what each model saw."""

    name: str
    images: torch.Tensor

    @property
    def digest(self) -> str:
        return images_digest(self.images)


def images_digest(images: torch.Tensor) -> str:
    """sha256 of images ``(N, C, H, W)`` quantized to uint8: proves which inputs a model saw, build after build."""
    return hashlib.sha256((images * 255).round().to(torch.uint8).numpy().tobytes()).hexdigest()


def image_keys(images: torch.Tensor) -> set[bytes]:
    """One key per image ``(N, C, H, W)`` (its uint8 bytes): lets a check prove two image sets share none."""
    quantized = (images * 255).round().to(torch.uint8).reshape(len(images), -1).numpy()
    return {row.tobytes() for row in quantized}
