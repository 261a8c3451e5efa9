"""Inner layers of TorchScript models, made readable by forward hooks.

TorchScript modules take no Python hooks. :func:`hookable` wraps a TorchScript model in an eager module that runs a
copy of its compiled ``forward`` which also returns one layer's output, and hands that value to an empty module at
the layer's dotted path, so a forward hook there (:func:`gifviz.torch_helpers.layer_output`) reads it: the model's
own output and the layer's value come from one run, with the gradients of the compiled model.

Finding the layer's output in the compiled graph: after inlining every call (submodules, helper methods such as
``_forward_impl``, scripted or traced), each operation of the graph still knows which module instance ran it
(``Node.getModuleHierarchy``). The layer's output is the last tensor its operations make that an operation outside
it uses, which is what a forward hook on its last call would see (a tuple's first item, as a hook reads it). It is
copied (``aten::clone``) where the layer's call ends, so an in-place operation that follows (``out += identity``)
cannot change what is read. gifviz calls a model with its input alone, so the copy fixes the forward's other arguments
to their defaults and folds the branches they decide (timm's ``if attn_mask is not None``). A layer the graph cannot
place (it runs only in a loop or branch, or again in one after its last plain call; it computes nothing; items of
look-alike containers) is refused with why, never read wrong.

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
# Splits a node's module hierarchy into its steps, ``name(Type)``, at each dot after a closing parenthesis. ``SELF``
# steps are calls of the module's own methods and ``UNKNOWN_INSTANCE`` steps calls of functions, both inside the
# module of the step before.
_STEPS = re.compile(r"(?<=\))\.")
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

    def __init__(self, scripted: torch.jit.ScriptModule, layer: str, tapped: Any) -> None:
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
        self._tapped = tapped  # a compiled function (module, x) -> (output, layer value)

    def forward(self, x: torch.Tensor) -> Any:
        output, value = self._tapped(getattr(self, _WHOLE)._c, x)
        self.get_submodule(self._layer)(value)
        return output


class _ModulePaths:
    """Which module instances may have run a node, as dotted paths resolved against the model's own tree.

    A node's hierarchy string is a chain of ``name(Type)`` steps, each an attribute of the module of the step before,
    except a call of an item of a ``ModuleList`` or ``ModuleDict``, which TorchScript records under the item's name
    alone (``0(Conv2d)``): such a step stands for every module below the step before that has that name and type, so a
    node can have several candidate paths. A block's return node belongs to the loop or branch that owns the block.
    """

    def __init__(self, model: torch.jit.ScriptModule) -> None:
        self.model = model
        self.known: dict[str, frozenset[tuple[str, ...]]] = {}

    def of(self, node: torch._C.Node) -> frozenset[tuple[str, ...]]:
        while node.kind() == "prim::Return":
            owner = node.owningBlock().owningNode()
            if owner is None:  # the graph's own return: the model's output, outside every layer
                return frozenset([()])
            node = owner
        hierarchy = node.getModuleHierarchy()
        if hierarchy not in self.known:
            self.known[hierarchy] = self._resolve(hierarchy)
        return self.known[hierarchy]

    def _resolve(self, hierarchy: str) -> frozenset[tuple[str, ...]]:
        states: list[tuple[tuple[str, ...], nn.Module]] = [((), self.model)]
        # steps end in ")" and are joined by "."; a name may hold "(", ")" or spaces (ModuleDict keys)
        for step in (piece.lstrip(".") for piece in _STEPS.split(hierarchy) if piece.strip(".")):
            name, _, kind = step[:-1].rpartition("(")
            if name in _NOT_A_SUBMODULE:
                continue
            following: list[tuple[tuple[str, ...], nn.Module]] = []
            for path, module in states:
                children = dict(module.named_children())
                if name in children:
                    following.append(((*path, name), children[name]))
                    continue
                following += [
                    ((*path, *inner.split(".")), item)
                    for inner, item in module.named_modules()
                    if inner.rpartition(".")[2] == name and getattr(item, "original_name", None) == kind
                ]
            states = following
        return frozenset(path for path, _ in states)

    def inside(self, node: torch._C.Node, layer: tuple[str, ...], name: str) -> bool:
        """Whether ``node`` ran inside ``layer``; a :class:`ConfigError` when its candidate paths disagree."""
        candidates = self.of(node)
        if not candidates:  # a step names no module of the tree: which layer ran the node is unknown
            raise ConfigError(
                f"cannot read layer {name!r} of this TorchScript model: some of its operations name a module "
                f"({node.getModuleHierarchy()!r}) that its tree does not hold; use an output target"
            )
        verdicts = {path[: len(layer)] == layer for path in candidates}
        if len(verdicts) != 1:
            raise ConfigError(
                f"cannot read layer {name!r} of this TorchScript model: some of its operations may belong to "
                f"{sorted('.'.join(path) for path in candidates)}, items of containers that look alike; name "
                "another layer, or use an output target"
            )
        return verdicts.pop()


def _top_level(node: torch._C.Node) -> torch._C.Node:
    """The node of the graph's top-level block that holds ``node`` (itself, or the loop or branch around it)."""
    while node.owningBlock().owningNode() is not None:
        node = node.owningBlock().owningNode()
    return node


def _nested_nodes(graph: torch._C.Graph) -> Iterator[torch._C.Node]:
    """The nodes inside the blocks of loops and branches, at any depth."""
    pending = [block for node in graph.nodes() for block in node.blocks()]
    while pending:
        block = pending.pop()
        for node in block.nodes():
            yield node
            pending.extend(node.blocks())


def _is_output(value: torch._C.Value) -> bool:
    """A tensor, or a tuple whose first item is one (a forward hook reads ``output[0]`` of a tuple)."""
    kind = value.type()
    if isinstance(kind, torch._C.TupleType):
        items = kind.elements()
        return bool(items) and isinstance(items[0], torch._C.TensorType)
    return isinstance(kind, torch._C.TensorType)


def _layer_value(graph: torch._C.Graph, paths: _ModulePaths, layer: tuple[str, ...], name: str) -> torch._C.Value:
    """The last value the operations of ``layer`` make in the top-level block that an operation outside it uses."""

    def inside(node: torch._C.Node) -> bool:
        return paths.inside(node, layer, name)

    found = None
    for node in graph.nodes():
        if node.kind() in _NO_COMPUTATION or not inside(node):
            continue
        for value in node.outputs():
            if _is_output(value) and any(not inside(use.user) for use in value.uses()):
                found = value
    nested = [node for node in _nested_nodes(graph) if node.kind() not in _NO_COMPUTATION and inside(node)]
    if found is None:
        why = "its operations run only inside a loop or branch" if nested else "it computes nothing there (identity)"
        raise ConfigError(
            f"cannot read layer {name!r} of this TorchScript model: {why}; name another layer, or use an output target"
        )
    # a later call inside a loop or branch would be the one a hook sees last, and it may or may not run
    last = _top_level(found.node())
    if any(_top_level(node).isAfter(last) and not inside(_top_level(node)) for node in nested):
        raise ConfigError(
            f"cannot read layer {name!r} of this TorchScript model: it runs again inside a loop or branch after its "
            "last plain call; name another layer, or use an output target"
        )
    return found


def _end_of_call(
    graph: torch._C.Graph, paths: _ModulePaths, value: torch._C.Value, layer: tuple[str, ...], name: str
) -> torch._C.Node:
    """The last top-level node of the call of ``layer`` that made ``value``: an in-place operation of the layer on
    its output (``y.clamp_(min=0)``) comes after the node that made it."""
    nodes = list(graph.nodes())
    at = nodes.index(_top_level(value.node()))
    while at + 1 < len(nodes) and (nodes[at + 1].kind() in _NO_COMPUTATION or paths.inside(nodes[at + 1], layer, name)):
        at += 1
    return nodes[at]


def _insert_after(
    graph: torch._C.Graph, at: torch._C.Node, kind: str, value: torch._C.Value, argument: object, output: Any
) -> torch._C.Node:
    """A node ``kind(value, argument)`` right after ``at`` (its constant argument just before it), of type
    ``output``."""
    constant = graph.insertConstant(argument)
    node = graph.create(kind, [value, constant])
    node.insertAfter(at)
    constant.node().moveBefore(node)
    node.output().setType(output)
    return node


def _with_defaults(model: torch.jit.ScriptModule, graph: torch._C.Graph, layer: str) -> None:
    """Fix the forward's arguments after its input to their defaults, as gifviz calls ``model(x)``, fold the
    branches they decide (``if attn_mask is not None``), so that layers behind them are plain calls again, and drop
    them from the copy's inputs: it takes ``(model, x)``."""
    arguments = model.forward.schema.arguments[2:]  # after the model itself and its input
    start = next(iter(graph.nodes()))
    for argument, value in zip(arguments, list(graph.inputs())[2:], strict=True):
        if not value.uses():
            continue
        if not argument.has_default_value():
            raise ConfigError(
                f"cannot read layer {layer!r}: this TorchScript model's forward needs argument {argument.name!r} "
                "beside its input, and gifviz calls a model with its input alone"
            )
        constant = graph.insertConstant(argument.default_value)
        constant.node().moveBefore(start)
        value.replaceAllUsesWith(constant)
    torch._C._jit_pass_constant_propagation(graph)
    for index in reversed(range(2, len(list(graph.inputs())))):
        graph.eraseInput(index)


def _tapped_forward(model: torch.jit.ScriptModule, layer: str) -> Any:
    """A compiled function ``(model, x) -> (output, layer value)`` from an inlined copy of ``model``'s forward."""
    try:
        graph = model.graph.copy()
    except (AttributeError, RuntimeError):
        raise ConfigError(f"cannot read layer {layer!r}: this TorchScript model has no forward to read") from None
    torch._C._jit_pass_inline(graph)
    _with_defaults(model, graph, layer)
    paths, path = _ModulePaths(model), tuple(layer.split("."))
    value = _layer_value(graph, paths, path, layer)
    at = _end_of_call(graph, paths, value, path, layer)
    if isinstance(value.type(), torch._C.TupleType):  # a hook reads the first item of a tuple
        at = _insert_after(graph, at, "prim::TupleIndex", value, 0, value.type().elements()[0])
        value = at.output()
    keep = _insert_after(graph, at, "aten::clone", value, None, value.type())  # None: clone's memory_format
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
        ConfigError: ``layer`` is not a submodule of ``model``, or the compiled forward cannot place its output: it
            runs only inside a loop or branch, or again in one after its last plain call; it computes nothing; its
            operations may belong to items of look-alike containers; the model has no readable forward; or it is
            the name the wrapper keeps the model under.
    """
    if layer is None or not isinstance(model, torch.jit.ScriptModule):
        return model
    _check_layer(model, layer)
    if layer.split(".")[0] == _WHOLE:
        raise ConfigError(f"cannot read layer {layer!r}: gifviz keeps the scripted model under that name; rename it")
    return _ScriptLayerTap(model, layer, _tapped_forward(model, layer))
