"""The shared input space and each model's own preprocess.

All models of a zoo are differentiated with respect to one raw input ``x`` of shape ``(C, H, W)`` with pixel values in
``value_range``. A model that expects other inputs (224 px, ImageNet normalization) carries a :class:`Preprocess`
that is applied *inside* the differentiated function, so its field still lives on the shared space.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gifviz.errors import ConfigError

INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


@dataclasses.dataclass(frozen=True)
class InputSpace:
    """Shape ``(C, H, W)`` and value range of the raw inputs every model of a zoo is compared on."""

    channels: int
    height: int
    width: int
    value_range: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if min(self.channels, self.height, self.width) < 1:
            raise ConfigError(f"input space {self.shape} must have positive channels, height and width")
        low, high = self.value_range
        if not low < high:
            raise ConfigError(f"input value range {self.value_range} must have low < high")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "size": [self.height, self.width], "range": list(self.value_range)}


@dataclasses.dataclass(frozen=True)
class Preprocess:
    """Resize then normalize, as a differentiable function of the raw input.

    Attributes:
        size: ``(H, W)`` the model expects; ``None`` keeps the input space's size. Resizing uses
            ``interpolation`` (``align_corners=False``, antialiased when shrinking, as torchvision's tensor resize).
        mean, std: per-channel normalization ``(x - mean) / std``; ``None`` skips it.
        interpolation: ``bilinear`` (default), ``bicubic`` (what many timm and torchvision ViT weights were trained
            with) or ``nearest``.
    """

    size: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ConfigError(
                f"preprocess interpolation {self.interpolation!r} is not one of {', '.join(INTERPOLATIONS)}"
            )
        if (self.mean is None) != (self.std is None):
            raise ConfigError("preprocess needs both mean and std, or neither")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise ConfigError(f"preprocess std {self.std} must be positive")
        if self.mean is not None and len(self.mean) != len(self.std or ()):
            raise ConfigError(f"preprocess mean {self.mean} and std {self.std} must have one value per channel")
        if self.size is not None:
            object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        if self.mean is not None:
            object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
            object.__setattr__(self, "std", tuple(float(v) for v in self.std or ()))

    @property
    def is_identity(self) -> bool:
        return self.size is None and self.mean is None

    def to_dict(self) -> dict[str, Any]:
        """Plain values; ``interpolation`` only when it is not the default, so the digests and store keys of models
        resized bilinearly stay what they were before the option existed."""
        values: dict[str, Any] = {
            "size": list(self.size) if self.size else None,
            "mean": list(self.mean) if self.mean else None,
            "std": list(self.std) if self.std else None,
        }
        if self.interpolation != "bilinear":
            values["interpolation"] = self.interpolation
        return values

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Preprocess:
        if not data:
            return cls()
        unknown = sorted(set(data) - {"size", "mean", "std", "interpolation"})
        if unknown:
            raise ConfigError(f"unknown preprocess keys {unknown}; known: size, mean, std, interpolation")
        return cls(
            size=tuple(data["size"]) if data.get("size") else None,
            mean=tuple(data["mean"]) if data.get("mean") else None,
            std=tuple(data["std"]) if data.get("std") else None,
            interpolation=data.get("interpolation") or "bilinear",
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` raw input -> ``(B, C, h, w)`` model input."""
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            shrinking = self.size[0] < x.shape[-2] or self.size[1] < x.shape[-1]
            if self.interpolation == "nearest":
                x = F.interpolate(x, size=self.size, mode="nearest")
            else:
                x = F.interpolate(x, size=self.size, mode=self.interpolation, align_corners=False, antialias=shrinking)
        if self.mean is not None:
            if len(self.mean) != x.shape[1]:
                raise ConfigError(
                    f"preprocess has {len(self.mean)} mean/std values but the input has {x.shape[1]} channels"
                )
            mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std or (), dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x


class PreprocessedModel(nn.Module):
    """``model(preprocess(x))`` as one module, so hooks and autograd see a single function of the raw input."""

    def __init__(self, model: nn.Module, preprocess: Preprocess | None = None) -> None:
        super().__init__()
        self.model = model
        self.preprocess = preprocess or Preprocess()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.preprocess(x))
