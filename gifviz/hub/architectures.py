"""Architectures a state dict can be poured into: gifviz's own registry, then torchvision's model registry.

The registry starts with the built-in zoo's architectures (:data:`gifviz.builtin_zoo.architectures.ARCHITECTURES`, a
leaf module of plain torch code); :func:`register_architecture` adds more.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from torch import nn

from gifviz.builtin_zoo.architectures import ARCHITECTURES
from gifviz.errors import ModelLoadError

Builder = Callable[..., nn.Module]
_REGISTRY: dict[str, Builder] = dict(ARCHITECTURES)


def register_architecture(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder(num_classes=..., **kwargs)`` loadable as ``arch = "<name>"``."""

    def decorate(builder: Builder) -> Builder:
        _REGISTRY[name] = builder
        return builder

    return decorate


def known_architectures() -> list[str]:
    """Names ``arch`` may take: gifviz's registry, then torchvision's models."""
    import torchvision  # on first use: importing it costs seconds, and most zoos hold no torchvision model

    return sorted(_REGISTRY) + sorted(torchvision.models.list_models())


def build_architecture(name: str, num_classes: int | None, model_id: str, **kwargs: object) -> nn.Module:
    """An untrained ``name`` network with ``num_classes`` outputs (gifviz registry first, then torchvision)."""
    import torchvision  # on first use: importing it costs seconds, and most zoos hold no torchvision model

    options = dict(kwargs)
    if num_classes is not None:
        options["num_classes"] = num_classes
    try:
        if name in _REGISTRY:
            return _REGISTRY[name](**options)
        if name in torchvision.models.list_models():
            return torchvision.models.get_model(name, weights=None, **options)
    except TypeError as error:
        raise ModelLoadError(
            f"model {model_id!r}: architecture {name!r} cannot be built with {options} ({error})"
        ) from None
    close = difflib.get_close_matches(name, known_architectures(), n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see `gifviz hub archs` for the known ones"
    raise ModelLoadError(f"model {model_id!r}: unknown architecture {name!r}; {hint}")
