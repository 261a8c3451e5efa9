"""Inner layers of TorchScript models, made readable by forward hooks.

TorchScript modules take no Python hooks. :func:`hookable` wraps a TorchScript model in an eager module that runs a
copy of its compiled ``forward`` which also returns one layer's output, and hands that value to an empty module at
the layer's dotted path, so a forward hook there (:func:`gifviz.torch_helpers.layer_output`) reads it: the model's
own output and the layer's value come from one run, with the gradients of the compiled model.

Finding the layer's output in the compiled graph: after inlining every call (submodules, helper methods such as
``_forward_impl``, scripted or traced), each operation of the graph still knows which module instance ran it
(``Node.getModuleHierarchy``). The layer's output is the last tensor its operations make that an operation outside
it uses, which is what a forward hook on its last call would see. It is copied (``aten::clone``) right where it is
made, so an in-place operation that follows (``out += identity``) cannot change what is read.

TorchScript has no public way to return an inner value of a compiled ``forward``, so the graph copy becomes a function
through ``torch._C._create_function_from_graph`` (checked on torch 2.14). A leaf module: it imports torch, ``re`` and
:mod:`gifviz.errors` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from gifviz.errors import ConfigError

# The name the wrapper keeps the whole scripted model under, beside the path of the layer it reports.
_WHOLE = "gifviz_scripted_model"
# One step of a node's module hierarchy, ``name(Type)``; ``SELF`` steps are calls of the module's own methods and
# ``UNKNOWN_INSTANCE`` steps calls of functions, both inside the module of the step before.
_STEP = re.compile(r"([^.()]+)\(([^()]*)\)")
_NOT_A_SUBMODULE = {"SELF", "UNKNOWN_INSTANCE"}
# Nodes that read a constant or an attribute (weights included) make nothing a layer outputs.
_NO_COMPUTATION = {"prim::Constant", "prim::GetAttr"}


class _Reported(nn.Module):
    """Stands at the layer's path and returns the layer's value it is given, so that forward hooks see it."""

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        return value


class _ScriptLayerTap(nn.Module):
    """A TorchScript model whose forward also reports the output of ``layer`` to the module at that path.

    Not deep-copyable (it holds a compiled function): move the model to its device and dtype before wrapping it.
    """

    def __init__(self, scripted: torch.jit.ScriptModule, layer: str, tapped: Any, defaults: tuple[Any, ...]) -> None:
        super().__init__()
        self.add_module(_WHOLE, scripted)
        *outer, last = layer.split(".")
        parent: nn.Module = self
        for name in outer:  # empty containers down to the layer, so get_submodule(layer) finds its stand-in
            container = nn.Module()
            parent.add_module(name, container)
            parent = container
        parent.add_module(last, _Reported())
        self._layer = layer
        self._tapped = tapped  # a compiled function (module, *inputs) -> (output, layer value)
        self._defaults = defaults  # the forward's arguments after the model itself, default or None when it has none

    def forward(self, *inputs: Any) -> Any:
        arguments = list(inputs) + list(self._defaults[len(inputs) :])
        output, value = self._tapped(getattr(self, _WHOLE)._c, *arguments)
        self.get_submodule(self._layer)(value)
        return output


class _ModulePaths:
    """The dotted path of the module instance that ran a node, from the node's hierarchy string, resolved against
    the model's own tree: a step names an attribute of the module of the step before, except for a call of an item of
    a ``ModuleList`` or ``ModuleDict``, which TorchScript records under the item's name alone (``0(Conv2d)``); the
    container is the child that holds an item of that name and type."""

    def __init__(self, model: torch.jit.ScriptModule) -> None:
        self.model = model
        self.known: dict[str, tuple[str, ...]] = {}

    def of(self, node: torch._C.Node) -> tuple[str, ...]:
        hierarchy = node.getModuleHierarchy()
        if hierarchy not in self.known:
            self.known[hierarchy] = self._resolve(hierarchy)
        return self.known[hierarchy]

    def _resolve(self, hierarchy: str) -> tuple[str, ...]:
        path: list[str] = []
        module: nn.Module = self.model
        for name, kind in _STEP.findall(hierarchy):
            if name in _NOT_A_SUBMODULE:
                continue
            children = dict(module.named_children())
            if name not in children:
                holders = [
                    (holder, child)
                    for holder, child in children.items()
                    for item_name, item in child.named_children()
                    if item_name == name and getattr(item, "original_name", None) == kind
                ]
                if len(holders) != 1:
                    where = ".".join(path) or "the model"
                    raise ConfigError(
                        f"cannot tell which submodule of {where} ran as {name}({kind}) in this TorchScript model "
                        f"({len(holders)} containers hold one); use an output target"
                    )
                holder, module = holders[0]
                path += [holder, name]
                continue
            path.append(name)
            module = children[name]
        return tuple(path)


def _nested_nodes(graph: torch._C.Graph) -> Iterator[torch._C.Node]:
    """The nodes inside the blocks of loops and branches, at any depth."""
    pending = [block for node in graph.nodes() for block in node.blocks()]
    while pending:
        block = pending.pop()
        for node in block.nodes():
            yield node
            pending.extend(node.blocks())


def _layer_value(graph: torch._C.Graph, paths: _ModulePaths, layer: tuple[str, ...], name: str) -> torch._C.Value:
    """The last tensor the operations of ``layer`` make in the top-level block that an operation outside it uses."""

    def _inside(node: torch._C.Node) -> bool:
        return paths.of(node)[: len(layer)] == layer

    found = None
    for node in graph.nodes():
        if node.kind() in _NO_COMPUTATION or not _inside(node):
            continue
        for value in node.outputs():
            if isinstance(value.type(), torch._C.TensorType) and any(not _inside(use.user) for use in value.uses()):
                found = value
    if found is None:
        nested = any(_inside(node) for node in _nested_nodes(graph) if node.kind() not in _NO_COMPUTATION)
        why = "its operations run only inside a loop or branch" if nested else "it computes nothing there (identity)"
        raise ConfigError(
            f"cannot read layer {name!r} of this TorchScript model: {why}; name another layer, or use an output target"
        )
    return found


def _tapped_forward(model: torch.jit.ScriptModule, layer: str) -> Any:
    """A compiled function ``(model, *inputs) -> (output, layer value)`` from an inlined copy of ``model``'s forward."""
    try:
        graph = model.graph.copy()
    except (AttributeError, RuntimeError):
        raise ConfigError(f"cannot read layer {layer!r}: this TorchScript model has no forward to read") from None
    torch._C._jit_pass_inline(graph)
    value = _layer_value(graph, _ModulePaths(model), tuple(layer.split(".")), layer)
    no_format = graph.insertConstant(None)  # clone's memory_format argument
    keep = graph.create("aten::clone", [value, no_format])
    keep.insertAfter(value.node())
    no_format.node().moveBefore(keep)
    keep.output().setType(value.type())
    graph.registerOutput(keep.output())
    graph.makeMultiOutputIntoTuple()  # a compiled function returns one value: (output, layer value)
    return torch._C._create_function_from_graph("gifviz_layer_tap", graph)


def _check_layer(model: nn.Module, layer: str) -> None:
    names = [name for name, _ in model.named_modules() if name]
    if layer in names:
        return
    parent = layer.rpartition(".")[0]
    near = [name for name in names if name.startswith(parent + ".")] if parent in names else names
    raise ConfigError(f"layer {layer!r} is not a module of this model; some of its modules: {near[:12]}")


def hookable(model: nn.Module, layer: str | None) -> nn.Module:
    """``model``, or for a TorchScript model an eager wrapper computing the same output whose submodule at ``layer``
    (a dotted path) receives that layer's output, for forward hooks; eager models and ``layer=None`` come back as
    they are.

    Raises:
        ConfigError: ``layer`` is not a submodule of ``model``, or its output cannot be found in the compiled forward
            (it runs only inside a loop or branch, or computes nothing).
    """
    if layer is None or not isinstance(model, torch.jit.ScriptModule):
        return model
    _check_layer(model, layer)
    if layer.split(".")[0] == _WHOLE:
        raise ConfigError(f"cannot read layer {layer!r}: gifviz keeps the scripted model under that name; rename it")
    arguments = model.forward.schema.arguments[1:]  # after the model itself
    defaults = tuple(argument.default_value for argument in arguments)
    return _ScriptLayerTap(model, layer, _tapped_forward(model, layer), defaults)
