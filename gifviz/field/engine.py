"""The field engine: (model, reference inputs, baselines, FieldConfig) -> Field ``(N, S, D)``.

For each reference ``x_i`` with baseline ``b_i`` the path points are ``p_ik = b_i + a_k (x_i - b_i)``, with nodes
``a_k`` and weights ``w_k`` from captum's integration rules. All ``N * S`` points run through the model in chunks of
``batch_size``, one ``torch.autograd.grad`` per chunk; per-point contributions are reduced (channel mean, pooling) as
they arrive, which is exact because both reductions are linear and commute with the cumulative sum along the path.
Only one chunk of path points ever exists in memory.

With ``gradient="zeroth-order"`` the chunk's gradient is estimated from model outputs instead
(:mod:`gifviz.field.zeroth_order`): ``batch_size`` then bounds the model inputs of one batch, so a chunk holds
``batch_size // queries`` path points (at least one), and every model query is counted into :attr:`Field.queries`.
A query-only model (one marked ``query_only``, e.g. a manifest entry with ``access = "query"``) has no gradients to
take: an autograd field of it is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gifviz.config import FieldConfig
from gifviz.errors import Cancelled, ConfigError, ModelOutputError, NonFiniteFieldError
from gifviz.field.baselines import make_baselines
from gifviz.field.integration import integration_rule
from gifviz.field.result import Field
from gifviz.field.targets import TargetState, resolve_target, target_scalar
from gifviz.field.zeroth_order import STEP, direction_basis, directions_count, zeroth_order_gradient
from gifviz.refs import ReferenceSet
from gifviz.script_layers import hookable
from gifviz.space import Preprocess, PreprocessedModel
from gifviz.torch_helpers import (
    InplaceGuard,
    autograd_ready,
    forward_in_chunks,
    is_inplace_error,
    layer_output,
    on_device_for_the_call,
    resolve_device,
    resolve_layer,
)

ProgressFn = Callable[[int, int], None]


def _reduce(maps: torch.Tensor, config: FieldConfig) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, c, h, w)`` by the config's channel mean and average pooling (both linear)."""
    if config.channel_reduction == "mean":
        maps = maps.mean(dim=1, keepdim=True)
    if config.pool is not None and tuple(maps.shape[-2:]) != config.pool:
        maps = F.adaptive_avg_pool2d(maps, config.pool)
    return maps


def compute_field(
    model: nn.Module,
    inputs: torch.Tensor | ReferenceSet,
    config: FieldConfig | None = None,
    preprocess: Preprocess | None = None,
    *,
    baselines: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    model_id: str = "",
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Field:
    """Gradient field of ``model`` on reference ``inputs``.

    Args:
        model: maps ``preprocess(x)`` ``(B, C', H', W')`` to outputs ``(B, ...)``.
        inputs: ``(N, C, H, W)`` raw inputs on the shared space, or a :class:`ReferenceSet` (names and labels too).
        config: see :class:`FieldConfig`; defaults to ``FieldConfig()``.
        preprocess: the model's own resize/normalize, differentiated through.
        baselines: ``(N, C, H, W)`` explicit path starts; default from ``config.baseline``.
        labels: ``(N,)`` classes for ``target='label'`` (taken from the reference set when it has them).
        value_range: the input space's range (for the noise baseline, and the zeroth-order finite-difference step).
        progress: called as ``progress(points_done, points_total)`` after each chunk.
        should_stop: polled after each chunk; returning True raises :class:`~gifviz.errors.Cancelled`.

    Returns:
        :class:`Field` with values ``(N, S, D)``, D = ``c * h * w`` after reduction.
    """
    config = config or FieldConfig()
    _check_query_access(model, config, model_id)
    path = _path_problem(inputs, config, baselines, labels, value_range)
    with on_device_for_the_call(model, path.x.device, path.x.dtype, model_id) as placed:
        layer = resolve_layer(placed, config.layer, model_id)
        # after on_device: the wrapper of a TorchScript model (its layer made readable) cannot be deep-copied
        placed = hookable(placed, layer)
        if config.channels_last:
            placed = placed.to(memory_format=torch.channels_last)
        wrapped = PreprocessedModel(placed, preprocess)
        with autograd_ready(wrapped) as guard, layer_output(placed, layer) as read:
            control = _RunControl(progress, should_stop, guard)
            function = _scoring_function(wrapped, read, config, path.x.device)
            ends = _endpoint_pass(function, path, config, model_id)
            step = _ZerothOrderStep.of(config, path, value_range) if config.gradient == "zeroth-order" else None
            contributions = _path_contributions(function, path, ends.state, config, control, step)
    if not torch.isfinite(contributions.sum()):  # one reduction instead of a boolean copy of every value
        raise _non_finite_error(contributions, model_id, path.names)
    queries = ends.queries + step.queries if step is not None else None
    return _field_of(contributions, path, ends, config, model_id, queries)


def _check_query_access(model: nn.Module, config: FieldConfig, model_id: str) -> None:
    """A query-only model answers outputs only: no autograd field of it, and no inner layer to read."""
    if not getattr(model, "query_only", False):
        return
    who = f"model {model_id!r}" if model_id else "this model"
    if config.gradient == "autograd":
        raise ConfigError(
            f'{who} answers queries only (access = "query" or an api: source), so its gradients cannot be taken; '
            "estimate its field from its outputs with --gradient zeroth-order (gradient='zeroth-order')"
        )
    if config.layer is not None:
        raise ConfigError(
            f"{who} answers queries only, so its inner layer {config.layer!r} cannot be read; use an output target "
            "(--target predicted) and no --layer"
        )


@dataclasses.dataclass(frozen=True)
class _PathProblem:
    """What the path integral runs over: inputs ``x`` and baselines ``b`` ``(N, C, H, W)`` on the compute device, the
    rule's nodes ``a_k`` and weights ``w_k`` ``(S,)``, and the references' names and labels."""

    x: torch.Tensor
    b: torch.Tensor
    nodes: torch.Tensor
    weights: torch.Tensor
    names: tuple[str, ...]
    labels: torch.Tensor | None


@dataclasses.dataclass(frozen=True)
class _RunControl:
    """How a long computation reports and stops, and the in-place guard that may switch activations off once."""

    progress: ProgressFn | None
    should_stop: Callable[[], bool] | None
    guard: InplaceGuard


@dataclasses.dataclass(frozen=True)
class _Endpoints:
    """The target resolved on the inputs, and its scores ``(N,)`` at the inputs and at the baselines."""

    state: TargetState
    endpoint_scores: torch.Tensor
    baseline_scores: torch.Tensor
    queries: int = 0


@dataclasses.dataclass
class _ZerothOrderStep:
    """The zeroth-order chunk step: its directions ``(K, C, H, W)``, finite-difference step ``h`` (input units), and
    the path-point queries spent so far."""

    basis: torch.Tensor
    step: float
    queries: int = 0

    @classmethod
    def of(cls, config: FieldConfig, path: _PathProblem, value_range: tuple[float, float]) -> _ZerothOrderStep:
        shape = tuple(path.x.shape[1:])
        basis = direction_basis(shape, directions_count(config, shape), path.x.dtype, path.x.device)
        return cls(basis, STEP * float(value_range[1] - value_range[0]))

    @property
    def queries_per_point(self) -> int:
        return 2 * self.basis.shape[0]


def _path_problem(
    inputs: torch.Tensor | ReferenceSet,
    config: FieldConfig,
    baselines: torch.Tensor | None,
    labels: torch.Tensor | None,
    value_range: tuple[float, float],
) -> _PathProblem:
    """Check the inputs and place them, their baselines and the integration rule on the compute device."""
    names: tuple[str, ...] = ()
    if isinstance(inputs, ReferenceSet):
        names = inputs.names
        labels = labels if labels is not None else inputs.labels
        inputs = inputs.images
    if inputs.ndim != 4:
        raise ConfigError(f"inputs must be (N, C, H, W); got shape {tuple(inputs.shape)}")
    device = resolve_device(config.device)
    dtype = getattr(torch, config.dtype)
    x = inputs.to(device=device, dtype=dtype)
    b = make_baselines(x, config, value_range) if baselines is None else baselines.to(device=device, dtype=dtype)
    if b.shape != x.shape:
        raise ConfigError(f"baselines {tuple(b.shape)} must match inputs {tuple(x.shape)}")
    nodes, weights = integration_rule(config.rule, config.steps)
    nodes, weights = nodes.to(device=device, dtype=dtype), weights.to(device=device, dtype=dtype)
    return _PathProblem(x, b, nodes, weights, names, labels)


def _scoring_function(
    wrapped: nn.Module, read: Callable[[torch.Tensor], torch.Tensor], config: FieldConfig, device: torch.device
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Points ``(B, C, H, W)`` -> the outputs the target reads (the model's, or a hooked layer's), in the config's
    memory format and autocast precision."""

    def function(points: torch.Tensor) -> torch.Tensor:
        if config.channels_last:
            points = points.contiguous(memory_format=torch.channels_last)
        if config.autocast == "none":
            return read(wrapped(points))
        with torch.autocast(device.type, dtype=getattr(torch, config.autocast)):
            # Scores leave autocast in float32, so the summed target and its gradient keep full precision.
            return read(wrapped(points)).float()

    return function


def _endpoint_pass(
    function: Callable[[torch.Tensor], torch.Tensor], path: _PathProblem, config: FieldConfig, model_id: str
) -> _Endpoints:
    """Resolve the target on the inputs and score both ends of every path."""
    x, b = path.x, path.b
    # Endpoints and baselines in one forward pass (fewer calls: per-call overhead matters for small models); a
    # baseline shared by every input (zeros) is evaluated once.
    shared = bool((b == b[:1]).all())
    ends = torch.cat([x, b[:1] if shared else b])
    both = forward_in_chunks(function, ends, config.batch_size)
    endpoint_outputs, baseline_outputs = both[: len(x)], both[len(x) :]
    if shared:
        baseline_outputs = baseline_outputs.expand(len(x), *baseline_outputs.shape[1:])
    state = resolve_target(endpoint_outputs, config, path.labels, model_id)
    endpoint_scores = target_scalar(endpoint_outputs, config, state)
    return _Endpoints(state, endpoint_scores, target_scalar(baseline_outputs, config, state), len(ends))


def _field_of(
    contributions: torch.Tensor,
    path: _PathProblem,
    ends: _Endpoints,
    config: FieldConfig,
    model_id: str,
    queries: int | None = None,
) -> Field:
    """The :class:`Field` of finite per-point contributions ``(N, S, c, h, w)``."""
    values = _running_sum_over_steps(contributions) if config.cumulative else contributions
    map_shape = tuple(values.shape[2:])
    return Field(
        values=_on_the_host(values.flatten(2)),
        map_shape=(int(map_shape[0]), int(map_shape[1]), int(map_shape[2])),
        alphas=path.nodes.to(device="cpu", dtype=torch.float64),
        targets=ends.state.classes.cpu() if ends.state.classes is not None else None,
        endpoint_scores=ends.endpoint_scores.detach().cpu().double(),
        baseline_scores=ends.baseline_scores.detach().cpu().double(),
        config=config,
        reference_names=path.names,
        model_id=model_id,
        queries=queries,
    )


# The page-locked buffer a field passes through on its way from a GPU (64 MiB: one block of PyTorch's host allocator,
# which caches it for the next field, so no run locks more host memory than this).
STAGING_BYTES = 64 * 2**20


def _on_the_host(values: torch.Tensor) -> torch.Tensor:
    """``values`` as a contiguous float32 CPU tensor in ordinary (pageable) memory.

    From a GPU, through a page-locked staging buffer of :data:`STAGING_BYTES`: a field holds every step's map (``N * S *
    D`` floats, 154 MB for ResNet-50 at N = S = 16), and one copy straight into pageable memory took half the engine's
    device time on an H200 (torch.profiler, benchmarks/gpu_throughput.py --profile), while a result left in
    page-locked memory doubled the rate but would lock every field a zoo run holds (power-of-two blocks, never handed
    back). ``benchmarks/gpu_throughput.py --host-copy`` times the three ways."""
    values = values.to(dtype=torch.float32)
    if values.device.type != "cuda":
        return values.contiguous()
    host = torch.empty(values.shape, dtype=torch.float32)
    staging = torch.empty(min(values.numel(), STAGING_BYTES // 4), dtype=torch.float32, pin_memory=True)
    staged_copy(values.reshape(-1), host.view(-1), staging, torch.cuda.current_stream(values.device).synchronize)
    return host


def staged_copy(source: torch.Tensor, out: torch.Tensor, staging: torch.Tensor, wait: Callable[[], None]) -> None:
    """Copy the flat ``source`` ``(M,)`` into the flat ``out`` ``(M,)`` through ``staging`` ``(B,)``, B values at a
    time: an asynchronous copy into the buffer, ``wait`` for it, then a host copy out of it."""
    for start in range(0, source.numel(), staging.numel()):
        stop = min(start + staging.numel(), source.numel())
        staging[: stop - start].copy_(source[start:stop], non_blocking=True)
        wait()
        out[start:stop].copy_(staging[: stop - start])


def _non_finite_error(contributions: torch.Tensor, model_id: str, names: tuple[str, ...]) -> NonFiniteFieldError:
    """The error for contributions ``(N, S, ...)`` holding NaN or inf: says on how many references, and names one."""
    bad = (~torch.isfinite(contributions.flatten(1))).any(dim=1).nonzero().flatten().tolist()
    first = names[bad[0]] if names and bad else f"reference {bad[0] if bad else 0}"
    who = f"model {model_id!r}" if model_id else "the model"
    return NonFiniteFieldError(
        f"{who} has NaN or infinite input gradients on {len(bad)} of {contributions.shape[0]} reference path(s) "
        f"(first: {first}; sqrt or log at 0 cause this), so its field cannot be compared; leave it out (--skip-bad)"
    )


def _running_sum_over_steps(contributions: torch.Tensor) -> torch.Tensor:
    """Cumulative sum over dim 1 ``(N, S, ...)``, in place: S vectorized adds run about 5x faster than
    ``torch.cumsum`` over the same strided dimension on a CPU (measured in benchmarks/field_throughput.py)."""
    for step in range(1, contributions.shape[1]):
        contributions[:, step].add_(contributions[:, step - 1])
    return contributions


def _chunk_gradient(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: torch.Tensor,
    config: FieldConfig,
    state: TargetState,
    point_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gradient ``(B, C, H, W)`` of the target scores of one chunk of path points, each scaled by its
    ``point_weights`` ``(B,)`` when given (zeros if the target is constant).

    Weighting the scores seeds the backward pass with ``w_k``, so the weighted gradient costs no extra pass.
    """
    with torch.enable_grad():
        scores = target_scalar(function(points), config, state)
        if not scores.requires_grad:  # the target does not depend on the input at all
            return torch.zeros_like(points)
        seed = scores.sum() if point_weights is None else (scores * point_weights).sum()
        (gradient,) = torch.autograd.grad(seed, points, allow_unused=True)
    return torch.zeros_like(points) if gradient is None else gradient


def _path_contributions(
    function: Callable[[torch.Tensor], torch.Tensor],
    path: _PathProblem,
    state: TargetState,
    config: FieldConfig,
    control: _RunControl,
    zeroth_order: _ZerothOrderStep | None = None,
) -> torch.Tensor:
    """Per-point contributions ``(N, S, c, h, w)``: ``w_k g_ik (x_i - b_i)`` (cumulative) or ``g_ik`` (raw).

    ``g_ik`` is autograd's, or estimated by ``zeroth_order`` (which counts its queries) when given."""
    x, b, nodes, weights = path.x, path.b, path.nodes, path.weights
    n, steps = x.shape[0], nodes.shape[0]
    total = n * steps
    delta = x - b
    result: torch.Tensor | None = None
    batch_size = config.batch_size
    if zeroth_order is not None:  # batch_size bounds the model's inputs per batch: B points send B * 2K queries
        batch_size = max(1, batch_size // zeroth_order.queries_per_point)
    start = 0
    while start < total:
        # Point index j = i * S + k, so a chunk is a run of consecutive steps over consecutive inputs.
        stop = min(start + batch_size, total)
        index = torch.arange(start, stop, device=x.device)
        image, step = index // steps, index % steps
        chunk_delta = delta[image]
        points = torch.addcmul(b[image], nodes[step].view(-1, 1, 1, 1), chunk_delta)
        point_weights = weights[step].to(points.dtype) if config.cumulative else None
        try:
            if zeroth_order is None:
                points.requires_grad_(True)
                gradient = _chunk_gradient(function, points, config, state.rows(image), point_weights)
            else:
                gradient = zeroth_order_gradient(
                    function, points, config, state.rows(image), zeroth_order.basis, zeroth_order.step, point_weights
                )
                zeroth_order.queries += len(points) * zeroth_order.queries_per_point
        except torch.OutOfMemoryError:
            if batch_size == 1:
                raise ModelOutputError(
                    "out of device memory with one path point per chunk; use a smaller model, "
                    "fewer pixels or --device cpu"
                ) from None
            # Halve the chunk and retry the same points; the result does not depend on the chunk size.
            batch_size = max(1, batch_size // 2)
            if x.device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        except RuntimeError as error:
            if is_inplace_error(error) and control.guard.switch_off():
                continue  # recompute the same chunk with in-place activations off
            raise
        if config.cumulative:
            gradient = gradient.mul_(chunk_delta)  # already weighted by w_k through the backward seed
        reduced = _reduce(gradient.detach(), config)
        if result is None:
            result = torch.empty((n, steps, *reduced.shape[1:]), dtype=reduced.dtype, device=reduced.device)
        result.view(total, *reduced.shape[1:])[start:stop] = reduced  # chunks are runs of consecutive points
        start = stop
        if control.progress is not None:
            control.progress(stop, total)
        if control.should_stop is not None and control.should_stop():
            raise Cancelled(f"field computation stopped after {stop} of {total} path points")
    assert result is not None
    return result
