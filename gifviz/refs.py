"""Reference inputs: the points of the shared input space where every model's field is sampled."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gifviz.config import FieldConfig
from gifviz.errors import ReferenceSetError
from gifviz.space import InputSpace

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclasses.dataclass(frozen=True)
class ReferenceSet:
    """``N`` reference inputs on one input space.

    Attributes:
        images: ``(N, C, H, W)`` float32 in the space's value range.
        names: one name per image (file name, or ``"<source>[i]"``), in order.
        labels: optional ``(N,)`` int64 class labels (for the ``label`` target and for peers that need labels).
    """

    images: torch.Tensor
    names: tuple[str, ...]
    labels: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ReferenceSetError(f"reference images must be (N, C, H, W); got shape {tuple(self.images.shape)}")
        if len(self.names) != self.images.shape[0]:
            raise ReferenceSetError(f"{len(self.names)} names for {self.images.shape[0]} reference images")
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            raise ReferenceSetError(f"labels must be (N,) = ({self.images.shape[0]},); got {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def head(self, n: int) -> ReferenceSet:
        """The first ``n`` references (error when fewer exist)."""
        if n > len(self):
            raise ReferenceSetError(f"asked for {n} reference images but only {len(self)} are available; lower N")
        labels = self.labels[:n] if self.labels is not None else None
        return ReferenceSet(self.images[:n], self.names[:n], labels)

    def digest(self) -> str:
        """sha256 over the image bytes in order (float32, C-contiguous) and their shape."""
        h = hashlib.sha256()
        images = self.images.detach().to(torch.float32).contiguous().cpu().numpy()
        h.update(repr(images.shape).encode())
        h.update(images.tobytes())
        return h.hexdigest()

    def field_digest(self, config: FieldConfig) -> str:
        """What a field computed under ``config`` depends on: the images, plus the labels when the target reads them.

        The store keys fields by this, so two sets of the same images with different labels never share a
        ``target="label"`` field, while every other target keeps the image-only digest (and its cached fields).
        """
        if config.target != "label" or self.labels is None:
            return self.digest()
        h = hashlib.sha256(self.digest().encode())
        h.update(b"labels:" + self.labels.detach().to(torch.int64).contiguous().cpu().numpy().tobytes())
        return h.hexdigest()


def load_image(path: Path, space: InputSpace) -> torch.Tensor:
    """One image file -> ``(C, H, W)`` float32 on ``space`` (pixel = uint8 / 255, mapped to the value range)."""
    mode = _PIL_MODES.get(space.channels)
    if mode is None:
        raise ReferenceSetError(f"input spaces with {space.channels} channels cannot be read from image files")
    try:
        with Image.open(path) as image:
            image.load()
            converted = image.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ReferenceSetError(
            f"reference image {path} cannot be decoded ({type(error).__name__}: {error}); "
            "replace it with a valid PNG/JPEG or remove it from the folder"
        ) from None
    if converted.size != (space.width, space.height):
        converted = converted.resize((space.width, space.height), Image.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    unit = torch.from_numpy(pixels.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
    low, high = space.value_range
    return unit * (high - low) + low


def image_files(folder: Path) -> list[Path]:
    """The image files of ``folder`` in sorted file-name order (the order references are taken in)."""
    if not folder.is_dir():
        raise ReferenceSetError(f"reference folder {folder} does not exist; pass a folder of PNG/JPEG images")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_reference_folder(folder: str | Path, space: InputSpace, n: int | None = None) -> ReferenceSet:
    """Images of ``folder`` in sorted file-name order, converted to ``space``; the first ``n`` when given.

    Returns a :class:`ReferenceSet` with images ``(N, C, H, W)``.
    """
    folder = Path(folder)
    files = image_files(folder)
    if not files:
        raise ReferenceSetError(f"reference folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    if n is not None:
        if n < 1:
            raise ReferenceSetError(f"the number of reference images must be at least 1; got {n}")
        if n > len(files):
            raise ReferenceSetError(
                f"asked for {n} reference images but {folder} holds only {len(files)}; lower --n-refs or add images"
            )
        files = files[:n]
    images = torch.stack([load_image(path, space) for path in files])
    return ReferenceSet(images, tuple(path.name for path in files))


def reference_set_from_array(images: np.ndarray | torch.Tensor, source: str = "array") -> ReferenceSet:
    """Wrap an in-memory ``(N, C, H, W)`` batch as a reference set named ``source[i]``."""
    tensor = torch.as_tensor(images, dtype=torch.float32)
    return ReferenceSet(tensor, tuple(f"{source}[{i}]" for i in range(tensor.shape[0])))


def cutmix(images: torch.Tensor, seed: int) -> torch.Tensor:
    """One CutMix mix per image ``(N, C, H, W)`` (Yun et al., ICCV 2019): a box of a random partner's image pasted at
    a random position, its area fraction drawn from U(0, 1). The paper's reference data and SAC-m's samples are mixes
    like these. Seeded: the same images and seed give the same mixes."""
    n, _, height, width = images.shape
    generator = torch.Generator().manual_seed(seed)
    partners = torch.randperm(n, generator=generator)
    area = torch.rand(n, generator=generator)
    corners = torch.rand(n, 2, generator=generator)
    mixed = images.clone()
    for i in range(n):
        side = float(area[i].sqrt())
        box_h, box_w = max(1, round(side * height)), max(1, round(side * width))
        top, left = int(corners[i, 0] * (height - box_h + 1)), int(corners[i, 1] * (width - box_w + 1))
        rows, cols = slice(top, top + box_h), slice(left, left + box_w)
        mixed[i, :, rows, cols] = images[partners[i], :, rows, cols]
    return mixed


def mixup(images: torch.Tensor, count: int, seed: int, lowest: float = 0.5) -> torch.Tensor:
    """``count`` blends ``(count, C, H, W)`` of pairs of images ``(N, C, H, W)`` (mixup, Zhang et al., ICLR 2018):
    ``w * a + (1 - w) * b`` for a random image ``a``, a random partner ``b`` and a weight ``w`` drawn from
    ``U(lowest, 1)``, so each blend stays mostly one image with another showing through. A blend of two images in a
    space's value range stays in it. Seeded: the same images, count and seed give the same blends."""
    generator = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    first = torch.randint(n, (count,), generator=generator)
    second = torch.randint(n, (count,), generator=generator)
    weight = lowest + (1.0 - lowest) * torch.rand(count, generator=generator)
    weight = weight.to(images.dtype)[:, None, None, None]
    return weight * images[first] + (1.0 - weight) * images[second]
