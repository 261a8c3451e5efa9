"""Target rules: the scalar ``y_m(p)`` differentiated at each path point.

A rule is resolved once at the endpoints ``x_i`` (which class, which positions) and then held fixed along the path,
so every point of path ``i`` differentiates the same function.
"""

from __future__ import annotations

import dataclasses

import torch

from gifviz.config import FieldConfig
from gifviz.errors import ModelOutputError

_CLASS_TARGETS = ("predicted", "predicted_logsoftmax", "label")


@dataclasses.dataclass(frozen=True)
class TargetState:
    """What a rule fixed at the endpoints, one row per reference input.

    Attributes:
        classes: ``(N,)`` int64 class per input for class rules, else ``None``.
        mask: ``(N, F)`` bool positions for top-k rules (over the flattened output), else ``None``.
    """

    classes: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    def rows(self, index: torch.Tensor) -> TargetState:
        """The state for a chunk of path points belonging to inputs ``index`` ``(B,)``."""
        return TargetState(
            classes=self.classes[index] if self.classes is not None else None,
            mask=self.mask[index] if self.mask is not None else None,
        )


def _describe(config: FieldConfig) -> str:
    return f"target {config.target_name!r}" + (f" on layer {config.layer!r}" if config.layer else "")


def check_outputs(outputs: torch.Tensor, config: FieldConfig, model_id: str = "") -> None:
    """Raise a clear error when ``outputs`` cannot serve the target rule (wrong shape, NaN or inf)."""
    who = f"model {model_id!r}" if model_id else "the model"
    if not isinstance(outputs, torch.Tensor):
        raise ModelOutputError(
            f"{who} returned {type(outputs).__name__}, not a tensor; wrap it so that forward returns one tensor"
        )
    if not callable(config.target) and config.target in _CLASS_TARGETS and outputs.ndim != 2:
        raise ModelOutputError(
            f"{who} returns shape {tuple(outputs.shape)} but {_describe(config)} needs (batch, classes); "
            "use target 'sum' or 'topk_map' for dense outputs"
        )
    if config.target == "topk_map" and outputs.ndim < 3:
        raise ModelOutputError(
            f"{who} returns shape {tuple(outputs.shape)} but target 'topk_map' needs a dense map (batch, channels, ...)"
        )
    if not torch.isfinite(outputs).all():
        raise ModelOutputError(
            f"{who} returns NaN or infinite values on the reference inputs; it cannot be compared. "
            "Check its weights and preprocess"
        )


def resolve_target(
    endpoint_outputs: torch.Tensor, config: FieldConfig, labels: torch.Tensor | None = None, model_id: str = ""
) -> TargetState:
    """Fix the rule at the endpoints. ``endpoint_outputs``: ``(N, ...)`` outputs at ``x_i``; ``labels``: ``(N,)``."""
    check_outputs(endpoint_outputs, config, model_id)
    target = config.target
    if callable(target) or target in ("sum", "channel_max"):
        return TargetState()
    n = endpoint_outputs.shape[0]
    if target in ("predicted", "predicted_logsoftmax"):
        return TargetState(classes=endpoint_outputs.argmax(dim=1))
    if target == "label":
        if labels is None and config.label_class is None:
            raise ModelOutputError("target 'label' needs labels for the references or label_class in the config")
        classes = labels if labels is not None else torch.full((n,), int(config.label_class or 0))
        classes = torch.as_tensor(classes, dtype=torch.int64, device=endpoint_outputs.device)
        num_classes = endpoint_outputs.shape[1]
        if classes.min() < 0 or classes.max() >= num_classes:
            raise ModelOutputError(
                f"label classes {classes.min().item()}..{classes.max().item()} do not fit the model's "
                f"{num_classes} outputs{f' ({model_id})' if model_id else ''}"
            )
        return TargetState(classes=classes)
    if target == "topk_map":
        # Per channel, the k strongest positions of the endpoint's map.
        flat = endpoint_outputs.flatten(2)  # (N, C, P)
        k = min(config.topk, flat.shape[2])
        top = flat.topk(k, dim=2).indices
        mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(2, top, True)
        return TargetState(mask=mask.flatten(1))
    if target == "topk_features":
        flat = endpoint_outputs.flatten(1)
        k = min(config.topk, flat.shape[1])
        mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, flat.topk(k, dim=1).indices, True)
        return TargetState(mask=mask)
    raise ModelOutputError(f"unknown target {target!r}")


def target_scalar(outputs: torch.Tensor, config: FieldConfig, state: TargetState) -> torch.Tensor:
    """``(B, ...)`` outputs at path points -> ``(B,)`` scalars, using the endpoint state of each point's input."""
    target = config.target
    if callable(target):
        values = target(outputs)
        if values.shape != (outputs.shape[0],):
            raise ModelOutputError(f"the target callable must return shape (batch,); got {tuple(values.shape)}")
        return values
    if target == "predicted":
        return outputs.gather(1, state.classes.view(-1, 1)).squeeze(1)
    if target == "predicted_logsoftmax":
        return outputs.log_softmax(dim=1).gather(1, state.classes.view(-1, 1)).squeeze(1)
    if target == "label":
        return outputs.gather(1, state.classes.view(-1, 1)).squeeze(1)
    if target == "sum":
        return outputs.flatten(1).sum(dim=1)
    if target == "channel_max":
        # Maps (B, C, ...) -> per-channel maximum, summed; plain feature vectors (B, C) are summed.
        if outputs.ndim > 2:
            return outputs.flatten(2).amax(dim=2).sum(dim=1)
        return outputs.sum(dim=1)
    if target in ("topk_map", "topk_features"):
        return (outputs.flatten(1) * state.mask.to(outputs.dtype)).sum(dim=1)
    raise ModelOutputError(f"unknown target {target!r}")
