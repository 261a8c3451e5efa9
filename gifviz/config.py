"""FieldConfig: everything that decides what a gradient field is.

A frozen dataclass with a canonical JSON form. The JSON (without the execution-only fields) feeds the cache key and
is written into every export, so a number can always be traced to the exact settings that produced it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, Literal, get_args

from gifviz.errors import ConfigError

# The choices are Literal types, so type checkers catch a misspelt option in code; the tuples derived from them are
# what the parser offers and what __post_init__ checks (values also arrive from the command line, TOML and URLs).
Rule = Literal["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]
Baseline = Literal["zeros", "blur", "shuffle", "noise"]
# `layer=` value naming each model's own penultimate module, by the rule of gifviz.torch_helpers.penultimate_layer.
PENULTIMATE = "penultimate"
# Targets on the model's output, and representation targets on a hooked inner layer (`layer=`).
OutputTarget = Literal["predicted", "predicted_logsoftmax", "label", "sum", "topk_map"]
LayerTarget = Literal["channel_max", "topk_features"]
ChannelReduction = Literal["none", "mean"]
Device = Literal["auto", "cpu", "cuda"]
Dtype = Literal["float32", "float64"]
Autocast = Literal["none", "bfloat16", "float16"]
Gradient = Literal["autograd", "zeroth-order"]
RULES: tuple[str, ...] = get_args(Rule)
BASELINES: tuple[str, ...] = get_args(Baseline)
OUTPUT_TARGETS: tuple[str, ...] = get_args(OutputTarget)
LAYER_TARGETS: tuple[str, ...] = get_args(LayerTarget)
TARGETS = OUTPUT_TARGETS + LAYER_TARGETS
CHANNEL_REDUCTIONS: tuple[str, ...] = get_args(ChannelReduction)
DEVICES: tuple[str, ...] = get_args(Device)
DTYPES: tuple[str, ...] = get_args(Dtype)
AUTOCASTS: tuple[str, ...] = get_args(Autocast)
GRADIENTS: tuple[str, ...] = get_args(Gradient)
# Model queries per path point of a zeroth-order field when none are given: 2 x 256 antithetic differences along the
# 256 lowest-frequency directions. Chosen on the built-in zoo's architectures (3x32x32; benchmarks/zeroth_order.py):
# the smallest budget tried at which the low-frequency basis beats random directions on six of the seven, at 33k
# queries per model for N = 16 references and S = 4. On inputs of at most 256 values (a 1x16x16 space) it spans the
# whole space, so the estimate is the gradient up to finite-difference error.
DEFAULT_QUERIES = 512
# Fields that change how a field is computed but not what it is; they stay out of the cache key.
EXECUTION_ONLY = ("batch_size", "device", "channels_last")
# Options added after fields were first stored enter the key only when set, so stored fields stay valid.
KEY_ONLY_WHEN_SET = {"autocast": "none", "gradient": "autograd", "queries": None}
# How an inner layer's output is read, in the key of every layer field: 2 = a copy taken where the layer's call ends
# (an in-place operation after it, `out += identity`, changed what version 1 read), and PENULTIMATE resolved by the
# rule of gifviz.torch_helpers.penultimate_layer as of this version. Bump it when either changes.
LAYER_READING = 2

TargetFn = Callable[[Any], Any]


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not supported; choose one of: {', '.join(allowed)}")


@dataclasses.dataclass(frozen=True)
class FieldConfig:
    """How to compute a model gradient field ``(N, S, D)``.

    Attributes:
        steps: S, path points per reference input (the paper uses 50; the default 4 is the cheapest that keeps its
            distances and decisions, measured in ``benchmarks/fidelity_cost.py``).
        rule: captum integration rule giving the path nodes ``a_k`` and weights ``w_k``.
        baseline: path start ``b_i``: ``zeros``; ``blur`` (Gaussian blur of ``x_i``, ``blur_sigma`` pixels);
            ``shuffle`` (another reference image, a seeded pairing in which no image meets itself); ``noise``
            (uniform in the input range, seeded).
        target: the scalar differentiated per path. Output rules: ``predicted`` (logit of the class the model
            predicts at the endpoint ``x_i``), ``predicted_logsoftmax``, ``label`` (class from ``labels`` passed to
            :func:`gifviz.field.compute_field`, or ``label_class`` for all inputs), ``sum`` (all outputs),
            ``topk_map`` (dense outputs: per channel the endpoint's top-``topk`` positions, summed). Layer rules
            (need ``layer``, read by a forward hook): ``channel_max`` (per channel the maximum of the map, summed),
            ``topk_features`` (sum of the endpoint's ``topk`` largest features). A callable maps the model output
            ``(B, ...)`` to ``(B,)``; its qualified name stands for it in the JSON form.
        layer: dotted module name for layer targets (``None``: the model's output); :data:`PENULTIMATE` names each
            model's penultimate module (a top-level child literally named ``penultimate`` is taken as it is), so one
            configuration serves models whose layers are named differently.
        cumulative: True: cumulative integrated gradients ``(sum_{j<=k} w_j g_j) * (x - b)``; False: the raw gradient
            ``g_k`` at each path point.
        channel_reduction: ``none`` keeps ``D = C*H*W``; ``mean`` averages channels, ``D = H*W``.
        pool: average-pool each map to this ``(h, w)`` grid to bound storage (``None``: full resolution).
        batch_size: path points per forward/backward chunk (execution only).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda`` (execution only).
        dtype: computation dtype; fields are stored as float32.
        autocast: run the model's forward and backward under ``torch.autocast`` in ``bfloat16`` or ``float16``
            (GPU speed; the effect on distances is measured in ``benchmarks/gpu_throughput.py``); ``none``: off.
        channels_last: NHWC memory layout for convolutions (execution only; faster on GPUs with tensor cores).
        seed: seeds the ``noise`` and ``shuffle`` baselines.
        gradient: ``autograd`` (the input gradient by backpropagation) or ``zeroth-order`` (estimated from the
            model's outputs only, for models you can only query: :mod:`gifviz.field.zeroth_order`).
        queries: zeroth-order budget in model queries per path point (an even number, at least 2; ``None``:
            :data:`DEFAULT_QUERIES`). A field spends ``N * S * queries`` plus one query per endpoint and baseline;
            :attr:`gifviz.field.Field.queries` says how many it spent. Autograd fields take none (``None``).
    """

    # 4 Gauss-Legendre steps on the 128 shipped references keep the paper configuration's distances (S=50: Spearman
    # 0.997 on the built-in zoo) and every decision it makes, for 12.5x fewer evaluations
    # (benchmarks/fidelity_cost.py; README "Performance").
    steps: int = 4
    rule: Rule = "gausslegendre"
    baseline: Baseline = "zeros"
    blur_sigma: float = 3.0
    target: OutputTarget | LayerTarget | TargetFn = "predicted"
    label_class: int | None = None
    topk: int = 5
    layer: str | None = None
    cumulative: bool = True
    channel_reduction: ChannelReduction = "none"
    pool: tuple[int, int] | None = None
    batch_size: int = 256
    device: Device = "auto"
    dtype: Dtype = "float32"
    seed: int = 0
    autocast: Autocast = "none"
    channels_last: bool = False
    gradient: Gradient = "autograd"
    queries: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"steps={self.steps!r} must be a positive integer")
        _choice("rule", self.rule, RULES)
        if self.rule.startswith("riemann") and self.steps < 2:
            raise ConfigError(f"rule {self.rule!r} needs at least 2 steps (captum's Riemann rules); got {self.steps}")
        _choice("baseline", self.baseline, BASELINES)
        if not callable(self.target):
            _choice("target", self.target, TARGETS)
            if self.target in LAYER_TARGETS and not self.layer:
                raise ConfigError(f"target={self.target!r} differentiates an inner layer: also give layer='...'")
        _choice("channel_reduction", self.channel_reduction, CHANNEL_REDUCTIONS)
        _choice("device", self.device, DEVICES)
        _choice("dtype", self.dtype, DTYPES)
        _choice("autocast", self.autocast, AUTOCASTS)
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size} must be at least 1")
        if self.topk < 1:
            raise ConfigError(f"topk={self.topk} must be at least 1")
        if self.blur_sigma <= 0:
            raise ConfigError(f"blur_sigma={self.blur_sigma} must be positive")
        self._check_gradient()
        if self.pool is not None:
            pool = tuple(self.pool) if not isinstance(self.pool, int) else (self.pool, self.pool)
            if len(pool) != 2 or min(pool) < 1:
                raise ConfigError(f"pool={self.pool!r} must be a grid size (h, w) of positive integers")
            object.__setattr__(self, "pool", (int(pool[0]), int(pool[1])))

    def _check_gradient(self) -> None:
        _choice("gradient", self.gradient, GRADIENTS)
        if self.gradient == "autograd":
            if self.queries is not None:
                raise ConfigError(
                    f"queries={self.queries} is a budget of the zeroth-order estimator; add gradient='zeroth-order' "
                    "(--gradient zeroth-order) or leave queries out"
                )
            return
        if self.queries is None:
            # Fixed here, not left as None, so the stored key names the budget (a later default cannot reuse it).
            object.__setattr__(self, "queries", DEFAULT_QUERIES)
        elif isinstance(self.queries, bool) or not isinstance(self.queries, int) or self.queries < 2:
            raise ConfigError(f"queries={self.queries!r} must be an integer of at least 2 (queries per path point)")
        elif self.queries % 2:
            raise ConfigError(
                f"queries={self.queries} must be even: each direction takes two queries (x + h u and x - h u)"
            )

    @property
    def target_name(self) -> str:
        """The target rule as text; a callable is named by its module and qualified name."""
        if callable(self.target):
            return f"callable:{self.target.__module__}.{getattr(self.target, '__qualname__', repr(self.target))}"
        return self.target

    def to_dict(self, *, for_key: bool = False) -> dict[str, Any]:
        """Plain-JSON form. ``for_key=True`` drops execution-only fields (they do not change the field) and adds
        ``layer_reading`` to layer fields (not a field of this class: :meth:`from_dict` takes the plain form only)."""
        data = dataclasses.asdict(self)
        data["target"] = self.target_name
        data["pool"] = list(self.pool) if self.pool is not None else None
        if for_key:
            for name in EXECUTION_ONLY:
                data.pop(name)
            for name, unset in KEY_ONLY_WHEN_SET.items():
                if data[name] == unset:
                    data.pop(name)
            if data["layer"] is not None:
                data["layer_reading"] = LAYER_READING
        return data

    def to_json(self, *, for_key: bool = False) -> str:
        """Canonical JSON: sorted keys, no spaces, so equal configs give equal strings."""
        return json.dumps(self.to_dict(for_key=for_key), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldConfig:
        """Inverse of :meth:`to_dict` for named targets (a callable target cannot be restored from its name)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown FieldConfig keys: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if isinstance(values.get("target"), str) and values["target"].startswith("callable:"):
            raise ConfigError("a FieldConfig with a callable target cannot be rebuilt from JSON; pass the callable")
        if values.get("pool") is not None:
            values["pool"] = tuple(values["pool"])
        return cls(**values)

    def replace(self, **changes: Any) -> FieldConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
