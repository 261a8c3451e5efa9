"""The result of the field engine: :class:`Field`, a model's gradient field ``(N, S, D)`` on one reference set."""

from __future__ import annotations

import dataclasses

import torch

from gifviz.config import FieldConfig
from gifviz.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Field:
    """A model gradient field sampled on one reference set.

    Attributes:
        values: ``(N, S, D)`` float32 on the CPU; row ``[i, k]`` is the (reduced, flattened) map at path point k.
        map_shape: ``(c, h, w)`` of one map before flattening, ``c * h * w = D``.
        alphas: ``(S,)`` path nodes ``a_k`` in ``[0, 1]``.
        targets: ``(N,)`` int64 class differentiated per input for class rules, else ``None``.
        endpoint_scores: ``(N,)`` target value ``y(x_i)``.
        baseline_scores: ``(N,)`` target value ``y(b_i)``.
        config: the :class:`FieldConfig` that produced it.
        reference_names: names of the ``N`` references, in order.
        model_id: the model's id when known.
        queries: model queries the field spent (zeroth-order fields: endpoints, baselines and every path point's
            directions), ``None`` when not counted (autograd fields, and fields read back from a store that does
            not keep the count).
    """

    values: torch.Tensor
    map_shape: tuple[int, int, int]
    alphas: torch.Tensor
    targets: torch.Tensor | None
    endpoint_scores: torch.Tensor
    baseline_scores: torch.Tensor
    config: FieldConfig
    reference_names: tuple[str, ...] = ()
    model_id: str = ""
    queries: int | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        n, s, d = self.values.shape
        return (n, s, d)

    def maps(self) -> torch.Tensor:
        """Values as images ``(N, S, c, h, w)``."""
        n, s, _ = self.values.shape
        return self.values.view(n, s, *self.map_shape)

    def completeness_gap(self) -> torch.Tensor:
        """``sum F[i, S] - (y(x_i) - y(b_i))`` per input ``(N,)``; ~0 for cumulative, unreduced fields."""
        if not self.config.cumulative or self.config.channel_reduction != "none" or self.config.pool is not None:
            raise ConfigError("completeness holds for cumulative fields without channel reduction or pooling")
        return self.values[:, -1].double().sum(dim=1) - (self.endpoint_scores - self.baseline_scores).double()
