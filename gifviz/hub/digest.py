"""Content digests of models: equal weights and preprocess give equal digests, whatever the file format (a frozen
TorchScript file apart: freezing folds and packs its weights into its graph's constants, which are digested instead)."""

from __future__ import annotations

import hashlib
import json

import torch
from torch import nn

from gifviz.errors import ModelLoadError
from gifviz.space import Preprocess
from gifviz.torch_helpers import graph_nodes, graph_tensor_constants, is_frozen_script


def model_digest(module: nn.Module, preprocess: Preprocess | None = None) -> str:
    """sha256 over the sorted state dict (name, dtype, shape, bytes) and the preprocess JSON; for a frozen TorchScript
    module (``torch.jit.freeze``), whose weights are constants of its graph, over its graph's operations and constants
    too, so two frozen models never share a digest (and a field). A frozen file's digest is not its live copy's."""
    h = hashlib.sha256()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name]
        if isinstance(tensor, torch.Tensor):
            _update(h, name, tensor)
    if is_frozen_script(module):
        _update_with_graph(h, module.graph)
    h.update(json.dumps((preprocess or Preprocess()).to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def _update(h: hashlib._Hash, name: str, tensor: torch.Tensor) -> None:
    tensor = tensor.detach()
    if tensor.is_quantized:  # the stored integers (scale and zero point are in the graph's other constants)
        tensor = tensor.int_repr()
    if tensor.layout != torch.strided:  # an mkldnn or sparse constant
        tensor = tensor.to_dense()
    tensor = tensor.cpu().contiguous()
    h.update(name.encode())
    h.update(str(tensor.dtype).encode())
    h.update(repr(tuple(tensor.shape)).encode())
    # Bytes through a uint8 view so every dtype (bfloat16 too) hashes without conversion.
    h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")


def _update_with_graph(h: hashlib._Hash, graph: torch.Graph) -> None:
    """Every operation of ``graph`` in order, nested blocks included, with each constant's value (a tensor's
    bytes, a list's or a packed object's items one by one). Printed graph text is not hashed: its value names and
    source lines may change with torch's version."""
    for position, node in enumerate(graph_nodes(graph.block())):
        h.update(node.kind().encode())
        if node.kind() != "prim::Constant" or not node.outputsSize():
            continue
        output = node.output()
        h.update(str(output.type()).encode())
        try:
            value = output.toIValue()
        except RuntimeError:  # a constant torch cannot hand to Python (a function): its type stands for it
            continue
        _update_with_value(h, f"constant {position}", value)


def _update_with_value(h: hashlib._Hash, name: str, value: object) -> None:
    """A constant's value: a tensor's bytes, each item of a list, tuple or dict, the state of a packed object
    (``torch.jit.freeze`` packs some weights into one); anything else by its repr, which for these (numbers,
    strings, devices, ``None``) holds the whole value."""
    if isinstance(value, torch.Tensor):
        _update(h, name, value)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}]".encode())
        for index, item in enumerate(value):
            _update_with_value(h, f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _update_with_value(h, f"{name}.{key!r}", value[key])
    elif isinstance(value, torch.ScriptObject):
        if not hasattr(value, "__getstate__"):
            raise ModelLoadError(
                f"a constant of this frozen TorchScript graph ({value._type().name()}) shows no content to tell the "
                "model from another; save it frozen without torch.jit.optimize_for_inference, or not frozen"
            )
        _update_with_value(h, f"{name}.state", value.__getstate__())
    else:
        h.update(repr(value).encode())


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def architecture_digest(module: nn.Module) -> str | None:
    """sha256 over the shapes of the module's parameters, in the order the module holds them: equal for two models
    of one architecture whatever their weights and file format (eager, TorchScript, ``torch.export``), so the audit
    can tell which independents share the source's architecture. Names are left out because formats may spell them
    differently. A frozen TorchScript file keeps no parameters (or those it was told to keep): the shapes of its
    graph's tensor constants join them, in the graph's order, so two frozen models of one architecture, frozen the
    same way, match (not a frozen model and a live one: freezing folds each batch norm into the layer before it; nor
    models whose weights hold two equal tensors, which freezing keeps once, as an untrained model's zero biases).
    ``None`` for a model that shows neither (one reached through an API)."""
    shapes = [tuple(p.shape) for p in module.parameters()]
    if is_frozen_script(module):
        shapes += [tuple(value.shape) for value in graph_tensor_constants(module.graph)]
    if not shapes:
        return None
    return hashlib.sha256(repr(shapes).encode()).hexdigest()
