"""ModelSpec (what a manifest says about a model) and LoadedModel (what loading it gives)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from torch import nn

from gifviz.space import InputSpace, Preprocess, PreprocessedModel


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of a zoo, before loading.

    Attributes:
        id: unique within the zoo.
        source: where it comes from: ``file:<absolute path>``, ``torchvision:<name>[@<weights>]``,
            ``hub:<dir>:<entry>``, ``builtin:<zoo>/<id>``, ``hf:<org>/<repo>[@<revision>]`` or
            ``timm:<name>[.<tag>]``.
        arch: architecture name (needed for state dicts and safetensors; informative otherwise).
        num_classes: output classes, when the architecture needs it to be built.
        preprocess: the model's own resize/normalize from the shared input space.
        task: what it was trained for (free text, e.g. ``digit``).
        classes: class names, when known.
        tags: free ``key = value`` tags (strings, numbers, booleans).
        parent, relation: lineage: the id it derives from and how (``finetune``, ``prune``, ...).
        extra: the remaining documented manifest keys (family, recipe, seed, accuracy, digest, description, ...).
    """

    id: str
    source: str
    arch: str | None = None
    num_classes: int | None = None
    preprocess: Preprocess = dataclasses.field(default_factory=Preprocess)
    task: str | None = None
    classes: tuple[str, ...] | None = None
    tags: dict[str, Any] = dataclasses.field(default_factory=dict)
    parent: str | None = None
    relation: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The source scheme: ``file``, ``torchvision``, ``hub``, ``builtin``, ``hf`` or ``timm``."""
        return self.source.split(":", 1)[0]

    @property
    def path(self) -> Path | None:
        """The file of a ``file:`` source."""
        return Path(self.source.split(":", 1)[1]) if self.kind == "file" else None

    def describe(self) -> dict[str, Any]:
        """Flat description for tables and exports (no tensors)."""
        row: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "arch": self.arch,
            "task": self.task,
            "parent": self.parent,
            "relation": self.relation,
        }
        row.update({f"tag:{key}": value for key, value in sorted(self.tags.items())})
        return row


@dataclasses.dataclass(frozen=True, eq=False)
class SourceModel:
    """What a source's loader gives back, before the space check and the digest.

    Attributes:
        module: the network (any mode; loading puts it in eval mode).
        preprocess: the model's own resize/normalize (the manifest's, else the source's configuration).
        classes: class names, when the source knows them.
        arch: the architecture's name as the source calls it (``resnet18``), when it knows one.
        description: one line on where the weights came from (``random init`` included), when the manifest gives none.
    """

    module: nn.Module
    preprocess: Preprocess
    classes: tuple[str, ...] | None = None
    arch: str | None = None
    description: str | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for the field engine.

    Attributes:
        spec: the manifest entry it came from.
        module: the network, in eval mode, on the CPU.
        preprocess: applied inside the differentiated function.
        space: the shared input space it is compared on.
        digest: sha256 over parameter/buffer names, dtypes, shapes and bytes (a frozen TorchScript file: its graph's
            operations and constants), plus the preprocess.
        num_params: number of parameters.
        arch: architecture name (from the spec, or the module's class name).
        classes: class names, when known.
        description: the source's one line on the weights, shown when the manifest entry has no description.
    """

    spec: ModelSpec
    module: nn.Module
    preprocess: Preprocess
    space: InputSpace
    digest: str
    num_params: int
    arch: str
    classes: tuple[str, ...] | None = None
    description: str | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    def wrapped(self) -> PreprocessedModel:
        """``module(preprocess(x))`` as one module taking raw inputs of the shared space ``(N, C, H, W)``. No
        ``.eval()`` here: models are in eval mode already (set flag by flag, because exported ``.pt2`` programs
        refuse ``train()``/``eval()``)."""
        return PreprocessedModel(self.module, self.preprocess)

    def describe(self) -> dict[str, Any]:
        """Everything known about the model, as plain JSON-able values."""
        return {
            "id": self.id,
            "source": self.spec.source,
            "arch": self.arch,
            "params": self.num_params,
            "task": self.spec.task,
            "classes": len(self.classes) if self.classes else None,
            "input_space": list(self.space.shape),
            "preprocess": self.preprocess.to_dict(),
            "digest": self.digest,
            "parent": self.spec.parent,
            "relation": self.spec.relation,
            "tags": dict(self.spec.tags),
            **({"description": self.description} if self.description else {}),
            **{key: value for key, value in self.spec.extra.items() if key != "digest"},
        }
