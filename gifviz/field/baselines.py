"""Path starts ``b_i`` for each reference input ``x_i``."""

from __future__ import annotations

import math

import torch

from gifviz.config import FieldConfig
from gifviz.errors import ConfigError


def shuffle_partner(n: int, seed: int) -> torch.Tensor:
    """A seeded pairing ``i -> partner[i]`` with no fixed point (a random single cycle), ``(n,)`` int64.

    Visiting the references in a random order and pointing each to the next one in that order makes one cycle through
    all ``n``, so no image is ever its own baseline.
    """
    if n < 2:
        raise ConfigError("the 'shuffle' baseline pairs each reference with another one: it needs at least 2 images")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    partner = torch.empty(n, dtype=torch.int64)
    partner[order] = torch.roll(order, -1)
    return partner


def make_baselines(
    inputs: torch.Tensor, config: FieldConfig, value_range: tuple[float, float] = (0.0, 1.0)
) -> torch.Tensor:
    """Baselines ``(N, C, H, W)`` for inputs ``(N, C, H, W)`` under ``config.baseline``."""
    kind = config.baseline
    if kind == "zeros":
        return torch.zeros_like(inputs)
    if kind == "blur":
        height, width = inputs.shape[-2:]
        # Three sigmas each side, but reflect padding needs the half-width below the image size.
        kernel = min(2 * math.ceil(3 * config.blur_sigma) + 1, 2 * min(height, width) - 1)
        kernel -= 1 - kernel % 2
        # torchvision is imported here, not at the top: it costs seconds and only this baseline needs it.
        from torchvision.transforms.v2 import functional as TF

        return TF.gaussian_blur(inputs, kernel_size=[kernel, kernel], sigma=[config.blur_sigma, config.blur_sigma])
    if kind == "shuffle":
        return inputs[shuffle_partner(inputs.shape[0], config.seed)].clone()
    if kind == "noise":
        low, high = value_range
        generator = torch.Generator().manual_seed(config.seed)
        noise = torch.rand(inputs.shape, generator=generator, dtype=torch.float32)
        return (noise * (high - low) + low).to(dtype=inputs.dtype, device=inputs.device)
    raise ConfigError(f"unknown baseline {kind!r}")
