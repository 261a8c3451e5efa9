"""Non-file sources: torchvision's model registry, a local torch.hub directory, and the built-in zoo."""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from gifviz.errors import ModelLoadError
from gifviz.hub.spec import ModelSpec
from gifviz.space import INTERPOLATIONS, Preprocess


def parse_torchvision(source: str) -> tuple[str, str | None]:
    """``torchvision:<name>[@<weights>]`` -> (name, weights or None)."""
    body = source.split(":", 1)[1]
    name, _, weights = body.partition("@")
    return name, weights or None


def torchvision_weights(name: str, weights: str | None, model_id: str):
    """The weights enum member for ``name`` (``DEFAULT``, ``IMAGENET1K_V1`` or ``Enum.MEMBER``), or None."""
    import torchvision  # on first use: importing it costs seconds, and most zoos hold no torchvision model

    if name not in torchvision.models.list_models():
        raise ModelLoadError(
            f"model {model_id!r}: torchvision has no model {name!r}; see torchvision.models.list_models()"
        )
    if weights is None:
        return None
    enum = torchvision.models.get_model_weights(name)
    member = weights.split(".", 1)[-1]
    try:
        return enum[member]
    except KeyError:
        raise ModelLoadError(
            f"model {model_id!r}: {name} has no weights {weights!r}; choose one of: {', '.join(enum.__members__)}"
        ) from None


def weights_file(weights) -> Path:
    """Where torchvision's normal cache keeps this weights file (``$TORCH_HOME/hub/checkpoints/<file>``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def torchvision_preprocess(weights) -> Preprocess:
    """The resize/normalize of ``weights.transforms()``, made differentiable.

    torchvision resizes to ``resize_size`` then centre-crops ``crop_size``; on a shared input space the whole image
    matters, so gifviz resizes straight to ``crop_size`` (same scale of objects, no cropped border).
    """
    transforms = weights.transforms()
    crop = transforms.crop_size
    size = (crop[0], crop[-1])
    mode = getattr(transforms.interpolation, "value", "bilinear")  # torchvision's InterpolationMode enum
    return Preprocess(
        size=size,
        mean=tuple(transforms.mean),
        std=tuple(transforms.std),
        interpolation=mode if mode in INTERPOLATIONS else "bilinear",
    )


def load_torchvision(spec: ModelSpec) -> tuple[nn.Module, Preprocess, tuple[str, ...] | None]:
    """Build the torchvision model, with its pretrained weights from the normal cache when asked for."""
    import torchvision  # on first use: importing it costs seconds, and most zoos hold no torchvision model

    name, weights_name = parse_torchvision(spec.source)
    weights = torchvision_weights(name, weights_name, spec.id)
    if weights is None:
        module = torchvision.models.get_model(name, weights=None, num_classes=spec.num_classes or 1000)
        return module, spec.preprocess, spec.classes
    categories = tuple(weights.meta.get("categories") or ()) or None
    module = torchvision.models.get_model(name, weights=None, num_classes=len(categories or ()) or 1000)
    path = weights_file(weights)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # a machine without network must fail fast, not hang on the download
    try:
        state = weights.get_state_dict(progress=False, weights_only=True)
    except Exception as error:  # URLError, HTTPError, timeouts, a damaged cached file
        if path.exists():
            raise ModelLoadError(
                f"model {spec.id!r}: cached weights {path} cannot be read ({str(error).splitlines()[0][:200]}); "
                "delete it and download it again"
            ) from None
        raise ModelLoadError(
            f"model {spec.id!r}: weights {weights} are not cached and cannot be downloaded here; put the file "
            f"{path.name} (from {weights.url}) in {path.parent} (set TORCH_HOME to use another cache folder)"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    module.load_state_dict(state)
    preprocess = spec.preprocess if not spec.preprocess.is_identity else torchvision_preprocess(weights)
    return module, preprocess, spec.classes or categories


def load_local_hub(spec: ModelSpec) -> nn.Module:
    """``hub:<dir>:<entry>``: ``torch.hub.load(dir, entry, source="local")``.

    This runs the directory's ``hubconf.py``: name only directories whose code you trust (your own).
    """
    _, directory, entry = spec.source.split(":", 2)
    if not (Path(directory) / "hubconf.py").is_file():
        raise ModelLoadError(f"model {spec.id!r}: {directory} has no hubconf.py; a hub source needs one")
    kwargs = {"num_classes": spec.num_classes} if spec.num_classes is not None else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.hub.load(directory, entry, source="local", **kwargs)
    except Exception as error:  # hubconf code may raise anything
        raise ModelLoadError(
            f"model {spec.id!r}: torch.hub could not load entry {entry!r} from {directory} "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''})"
        ) from None
