"""Content digests of models: equal weights and preprocess give equal digests, whatever the file format."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import torch
from torch import nn

from gifviz.space import Preprocess


def model_digest(module: nn.Module, preprocess: Preprocess | None = None) -> str:
    """sha256 over the sorted state dict (name, dtype, shape, bytes) and the preprocess JSON; for a TorchScript
    module with an empty state dict (a frozen file, ``torch.jit.freeze``, whose weights are constants of its graph),
    over its graph's operations and constants instead, so two frozen models never share a digest (and a field)."""
    h = hashlib.sha256()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name]
        if isinstance(tensor, torch.Tensor):
            _update(h, name, tensor)
    if not state and isinstance(module, torch.jit.ScriptModule):
        _update_with_graph(h, module.graph)
    h.update(json.dumps((preprocess or Preprocess()).to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def _update(h: hashlib._Hash, name: str, tensor: torch.Tensor) -> None:
    tensor = tensor.detach().cpu().contiguous()
    h.update(name.encode())
    h.update(str(tensor.dtype).encode())
    h.update(repr(tuple(tensor.shape)).encode())
    # Bytes through a uint8 view so every dtype (bfloat16 too) hashes without conversion.
    h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")


def _update_with_graph(h: hashlib._Hash, graph: torch.Graph) -> None:
    """Every operation of ``graph`` in order, nested blocks included, with each constant's value (a tensor's
    bytes). Printed graph text is not hashed: its value names and source lines may change with torch's version."""
    for position, node in enumerate(_nodes(graph.block())):
        h.update(node.kind().encode())
        if node.kind() != "prim::Constant" or not node.outputsSize():
            continue
        output = node.output()
        try:
            value = output.toIValue()
        except RuntimeError:  # a constant torch cannot hand to Python (a function): its type stands for it
            value = None
        if isinstance(value, torch.Tensor):
            _update(h, f"constant {position}", value)
        else:
            h.update(f"{output.type()}={value!r}".encode())


def _tensor_constants(graph: torch.Graph) -> Iterator[torch.Tensor]:
    for node in _nodes(graph.block()):
        if node.kind() == "prim::Constant" and node.outputsSize() and node.output().type().kind() == "TensorType":
            yield node.output().toIValue()


def _nodes(block: torch._C.Block) -> Iterator[torch._C.Node]:
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from _nodes(inner)


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def architecture_digest(module: nn.Module) -> str | None:
    """sha256 over the shapes of the module's parameters, in the order the module holds them: equal for two models
    of one architecture whatever their weights and file format (eager, TorchScript, ``torch.export``), so the audit
    can tell which independents share the source's architecture. Names are left out because formats may spell them
    differently. A frozen TorchScript file has no parameters: the shapes of its graph's tensor constants stand for
    them, in the graph's order, so two frozen models of one architecture match (not a frozen model and a live one:
    freezing folds each batch norm into the layer before it). ``None`` for a model that shows neither (one reached
    through an API)."""
    shapes = [tuple(p.shape) for p in module.parameters()]
    if not shapes and isinstance(module, torch.jit.ScriptModule):
        shapes = [tuple(value.shape) for value in _tensor_constants(module.graph)]
    if not shapes:
        return None
    return hashlib.sha256(repr(shapes).encode()).hexdigest()
