"""General torch helpers that every layer may use: the device to run on, a model's training flags, in-place
activations under autograd, which module holds a model's penultimate features, reading an inner layer's output, and
chunked evaluation without gradients.

A leaf module: it imports torch, :mod:`gifviz.errors` and :mod:`gifviz.config` only, so the hub (loading sets eval
mode), the peers (they read layers) and the field engine share these helpers without reaching into one another.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import overload

import torch
from torch import nn

from gifviz.config import PENULTIMATE
from gifviz.errors import ConfigError


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use --device auto or cpu")
    return torch.device(device)


def is_frozen_script(module: nn.Module) -> bool:
    """Whether ``module`` is a frozen TorchScript module (``torch.jit.freeze``): its weights are constants of its
    graph, and it has no ``training`` flag (its mode was fixed when it was frozen)."""
    return isinstance(module, torch.jit.ScriptModule) and not hasattr(module, "training")


class FrozenOnCpu(nn.Module):
    """A frozen TorchScript module run on the CPU, where gifviz loads every TorchScript file, its answers handed back
    on the caller's device: ``.to()`` moves parameters and buffers, never a graph's constants. The device is an
    execution detail (:data:`gifviz.config.EXECUTION_ONLY`): the field is the same, computed more slowly."""

    def __init__(self, frozen: nn.Module) -> None:
        super().__init__()
        self.frozen = frozen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.frozen(x.to("cpu")).to(x.device)


def graph_nodes(block: torch._C.Block) -> Iterator[torch._C.Node]:
    """Every node of a TorchScript graph's ``block`` in order, each followed by those of its nested blocks (a
    branch, a loop body): where a frozen graph keeps its constants."""
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from graph_nodes(inner)


def graph_tensor_constants(graph: torch.Graph) -> Iterator[torch.Tensor]:
    """The tensor constants of a TorchScript ``graph``, nested blocks included, in the graph's order (a frozen
    module's weights, :func:`is_frozen_script`)."""
    for node in graph_nodes(graph.block()):
        if node.kind() == "prim::Constant" and node.outputsSize() == 1 and node.output().type().kind() == "TensorType":
            value = node.output().toIValue()
            if isinstance(value, torch.Tensor):
                yield value


def _constants_dtype(frozen: torch.jit.ScriptModule) -> torch.dtype | None:
    """The dtype that holds most of a frozen graph's floating-point constants (its weights'), ``None`` without one."""
    sizes: dict[torch.dtype, int] = {}
    for value in graph_tensor_constants(frozen.graph):
        if value.is_floating_point():
            sizes[value.dtype] = sizes.get(value.dtype, 0) + value.numel()
    return max(sizes, key=sizes.__getitem__) if sizes else None


def on_device(model: nn.Module, device: torch.device, dtype: torch.dtype, model_id: str = "") -> nn.Module:
    """The model on ``device`` in ``dtype``; a copy when the dtype differs, so the caller's model keeps its own. A
    frozen TorchScript module runs on the CPU whatever ``device`` (:class:`FrozenOnCpu`), and in its weights' own
    dtype only: its constants take no other, and the dtype decides the field."""
    if is_frozen_script(model):
        own = _constants_dtype(model) or dtype
        if dtype != own:
            who = f"model {model_id!r}" if model_id else "this model"
            name = str(own).removeprefix("torch.")
            fix = (
                f"compute its fields with --dtype {name}"
                if own in (torch.float32, torch.float64)
                else "gifviz computes in float32 or float64: freeze a float32 copy of the model"
            )
            raise ConfigError(
                f"{who} is a frozen TorchScript file (torch.jit.freeze): its weights are {name} constants of its "
                f"graph, which no dtype change reaches; {fix}"
            )
        return model if device.type == "cpu" else FrozenOnCpu(model)
    parameter = next(iter(model.parameters()), None)
    if parameter is not None and parameter.dtype != dtype:
        model = copy.deepcopy(model).to(dtype=dtype)
    return model.to(device=device)


# One lock per module for the length of a call that may move it: a module shared between threads (the app caches
# models across sessions) must not be moved back by one call while another runs on it, and a field's layer hooks on
# one module would mix two calls' outputs anyway.
_CALL_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_CALL_LOCKS_GUARD = threading.Lock()


def _call_lock(model: nn.Module) -> threading.RLock:
    with _CALL_LOCKS_GUARD:
        lock = _CALL_LOCKS.get(model)
        if lock is None:
            lock = _CALL_LOCKS[model] = threading.RLock()
        return lock


def _devices(model: nn.Module) -> set[torch.device]:
    return {tensor.device for tensor in (*model.parameters(), *model.buffers())}


@contextlib.contextmanager
def on_device_for_the_call(
    model: nn.Module, device: torch.device, dtype: torch.dtype, model_id: str = ""
) -> Iterator[nn.Module]:
    """:func:`on_device` for one call, which holds the module to itself: a module that ``.to()`` moved in place goes
    back to the caller's device after it (also when the call or the move fails), so computing a field on the GPU does
    not leave the caller's CPU model there, where its next call on CPU inputs would fail. A module spread over several
    devices is collapsed by ``.to()`` and not spread again."""
    with _call_lock(model):
        before = _devices(model)
        try:
            yield on_device(model, device, dtype, model_id)
        finally:
            if len(before) == 1 and _devices(model) != before:
                model.to(device=next(iter(before)))


def set_training(model: nn.Module, mode: bool) -> dict[nn.Module, bool]:
    """Set every submodule's ``training`` flag directly; returns the previous flags.

    ``model.eval()`` would do the same through ``train()``, which ``torch.export`` programs refuse (their mode is fixed
    when they are exported), so the flags are set one by one. A frozen TorchScript module (``torch.jit.freeze``) has
    no flag at all, its mode fixed when it was frozen, and is left as it is.
    """
    previous = {module: module.training for module in model.modules() if hasattr(module, "training")}
    for module in previous:
        module.training = mode
    return previous


class InplaceGuard:
    """Switches off the ``inplace`` flag of a model's activations when autograd says it must, and restores them.

    In-place activations are kept by default: they are faster (no extra allocation per layer) and autograd checks
    every tensor it saved for the backward pass, so an in-place write that would corrupt the input gradient raises an
    error instead of giving a wrong field. On that error the engine calls :meth:`switch_off` and recomputes the chunk.
    TorchScript modules cannot be changed and are left as they are.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.switched: list[nn.Module] = []

    def switch_off(self) -> bool:
        """Turn in-place activations off; False when none was still on (the error is then not theirs)."""
        switched_now = [
            module
            for module in self.model.modules()
            if not isinstance(module, torch.jit.ScriptModule) and getattr(module, "inplace", False) is True
        ]
        for module in switched_now:
            module.inplace = False
        self.switched.extend(switched_now)
        return bool(switched_now)

    def restore(self) -> None:
        for module in self.switched:
            module.inplace = True
        self.switched.clear()


def is_inplace_error(error: RuntimeError) -> bool:
    """Whether autograd raised ``error`` because an in-place write overwrote a tensor saved for the backward pass."""
    text = str(error)
    return "inplace operation" in text or "in-place operation" in text


@contextlib.contextmanager
def autograd_ready(model: nn.Module) -> Iterator[InplaceGuard]:
    """Eval mode while the field is taken, and an :class:`InplaceGuard`; the model's own state is restored after."""
    guard = InplaceGuard(model)
    previous = set_training(model, False)
    try:
        yield guard
    finally:
        guard.restore()
        for module, mode in previous.items():
            module.training = mode


def penultimate_layer(model: nn.Module, model_id: str = "") -> str:
    """The module whose output is ``model``'s penultimate features: its child ``backbone`` (gifviz's architectures),
    else the child before its last, taken as the head (``features`` of ``head(features(x).flatten(1))``, ``avgpool``
    of a torchvision ResNet, the layer before the last of an ``nn.Sequential``), stepping back over identity
    placeholders (timm's ``norm_pre``): they pass their input on, and a TorchScript copy has no call of them to read.
    A change to this rule must bump :data:`gifviz.config.LAYER_READING`."""
    children = list(model.named_children())
    if any(name == "backbone" for name, _ in children):
        return "backbone"
    before_head = [name for name, child in children[:-1] if not _is_identity(child)]
    if not before_head:
        who = f"model {model_id!r}" if model_id else "this model"
        raise ConfigError(f"{who} has no child modules to read penultimate features from; name a layer")
    return before_head[-1]


def _is_identity(module: nn.Module) -> bool:
    """``nn.Identity``, eager or compiled (TorchScript keeps the class name as ``original_name``)."""
    return isinstance(module, nn.Identity) or getattr(module, "original_name", None) == "Identity"


@overload
def resolve_layer(model: nn.Module, layer: str, model_id: str = "") -> str: ...


@overload
def resolve_layer(model: nn.Module, layer: None, model_id: str = "") -> None: ...


def resolve_layer(model: nn.Module, layer: str | None, model_id: str = "") -> str | None:
    """``layer``, with :data:`~gifviz.config.PENULTIMATE` replaced by ``model``'s :func:`penultimate_layer` (unless the
    model has a top-level child of that very name)."""
    if layer != PENULTIMATE or any(name == PENULTIMATE for name, _ in model.named_children()):
        return layer
    return penultimate_layer(model, model_id)


@contextlib.contextmanager
def layer_output(model: nn.Module, layer: str | None) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """Yield ``read(output)``: the model output itself, or the output of module ``layer`` seen by a forward hook."""
    if layer is None:
        yield lambda output: output
        return
    if isinstance(model, torch.jit.ScriptModule):  # compiled modules take no Python hooks (nor get_submodule)
        raise ConfigError(
            f"cannot hook layer {layer!r}: the model is a TorchScript module; rebuild it with "
            "gifviz.script_layers.hookable(model, layer) first"
        )
    try:
        module = model.get_submodule(layer)
    except AttributeError:
        names = [name for name, _ in model.named_modules() if name][:12]
        raise ConfigError(f"layer {layer!r} is not a module of this model; some of its modules: {names}") from None
    captured: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        value = output[0] if isinstance(output, tuple) else output
        # a copy: an in-place operation after the layer (``out += identity``) would otherwise change what is read
        captured.append(value.clone())

    try:
        handle = module.register_forward_hook(hook)
    except RuntimeError as error:  # TorchScript modules reject Python hooks
        raise ConfigError(f"cannot hook layer {layer!r} of this model ({error}); use an output target") from None

    def read(_output: torch.Tensor) -> torch.Tensor:
        if not captured:  # a container (ModuleList), or a module the forward never calls
            raise ConfigError(f"layer {layer!r} did not run in the model's forward pass; name a module it calls")
        value = captured.pop()
        captured.clear()
        return value

    try:
        yield read
    finally:
        handle.remove()


def forward_in_chunks(
    function: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Outputs ``(N, ...)`` of ``function`` on ``points`` ``(N, C, H, W)``, in chunks, without gradients."""
    with torch.no_grad():
        return torch.cat([function(chunk) for chunk in points.split(batch_size)])
