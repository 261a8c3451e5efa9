"""From a ModelSpec to a LoadedModel: pick the source, load safely, check it fits the input space."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gifviz.errors import ModelLoadError
from gifviz.hub.api_source import ApiError, ApiModel, answers_digest, load_api
from gifviz.hub.architectures import build_architecture
from gifviz.hub.builtin import resolve_builtin
from gifviz.hub.digest import count_parameters, model_digest
from gifviz.hub.files import (
    check_file,
    file_format,
    fit_state_dict,
    load_export,
    load_torchscript,
    read_safetensors,
    read_state_dict,
)
from gifviz.hub.hf_source import load_hf
from gifviz.hub.query_only import QueryOnlyModel
from gifviz.hub.sources import load_local_hub, load_torchvision, parse_torchvision
from gifviz.hub.spec import LoadedModel, ModelSpec, SourceModel
from gifviz.hub.timm_models import load_timm
from gifviz.space import InputSpace, Preprocess, PreprocessedModel
from gifviz.torch_helpers import set_training


def _load_file(spec: ModelSpec) -> SourceModel:
    path = spec.path
    assert path is not None
    check_file(path, spec.id)
    kind = file_format(path)
    if kind == "torchscript":
        return SourceModel(load_torchscript(path, spec.id), spec.preprocess, spec.classes)
    if kind == "export":
        return SourceModel(load_export(path, spec.id, spec.extra.get("trusted") is True), spec.preprocess, spec.classes)
    state = read_safetensors(path, spec.id) if kind == "safetensors" else read_state_dict(path, spec.id)
    if not spec.arch:
        raise ModelLoadError(
            f'model {spec.id!r}: {path.name} holds only weights; add arch = "<name>" (and num_classes) to its '
            "manifest entry so gifviz knows the network to put them in"
        )
    module = build_architecture(spec.arch, spec.num_classes, spec.id)
    fit_state_dict(module, state, path, spec.id, spec.arch)
    return SourceModel(module, spec.preprocess, spec.classes, spec.arch)


def _load_torchvision(spec: ModelSpec) -> SourceModel:
    module, preprocess, classes = load_torchvision(spec)
    return SourceModel(module, preprocess, classes, parse_torchvision(spec.source)[0])


def _load_local_hub(spec: ModelSpec) -> SourceModel:
    return SourceModel(load_local_hub(spec), spec.preprocess, spec.classes)


SourceLoader = Callable[[ModelSpec], SourceModel]
# Source scheme -> loader. ``builtin:`` is not here: it names a file entry of another manifest, which
# :func:`load_model` resolves before loading it as a file. gifviz.constants.SOURCE_SCHEMES lists the same schemes
# (the command line's parser may not import this module); tests/test_cli_startup.py keeps the two in step.
SOURCE_LOADERS: dict[str, SourceLoader] = {
    "file": _load_file,
    "torchvision": _load_torchvision,
    "hub": _load_local_hub,
    "hf": load_hf,
    "timm": load_timm,
    "api": load_api,
}


def _load_source(spec: ModelSpec) -> SourceModel:
    loader = SOURCE_LOADERS.get(spec.kind)
    if loader is None:
        raise ModelLoadError(
            f"model {spec.id!r}: source {spec.source!r} is not supported; known schemes: {', '.join(SOURCE_LOADERS)}"
        )
    return loader(spec)


def check_fits_space(module: nn.Module, spec: ModelSpec, preprocess: Preprocess, space: InputSpace) -> torch.Tensor:
    """Run one zero input of the space through preprocess and model; a mismatch becomes a clear error.

    Returns the model's output for that one input, ``(1, ...)``.
    """
    probe = torch.zeros((1, *space.shape))
    try:
        with torch.no_grad():
            output = PreprocessedModel(module, preprocess)(probe)
    except ApiError:
        raise  # already one line naming the URL and the problem
    except Exception as error:  # any failure here means the model cannot take the space's inputs
        message = str(error).strip().splitlines()
        detail = message[-1][:300] if message else type(error).__name__
        if "Guard failed" in detail and "size()[0]" in detail:
            raise ModelLoadError(
                f"model {spec.id!r} was exported for one batch size only ({detail}); export it with "
                "dynamic_shapes={'x': {0: torch.export.Dim('batch')}} so gifviz can run chunks of path points"
            ) from None
        raise ModelLoadError(
            f"model {spec.id!r} does not accept inputs of the zoo's space {tuple(probe.shape)} ({detail}); "
            f"the manifest's [input] has {space.channels} channel(s) of {space.height}x{space.width}: "
            "fix [input] or give the model a 'preprocess' that resizes to what it expects"
        ) from None
    if not isinstance(output, torch.Tensor):
        raise ModelLoadError(f"model {spec.id!r} returns {type(output).__name__}, not a tensor")
    return output


def class_names(spec: ModelSpec, classes: tuple[str, ...] | None, output: torch.Tensor) -> tuple[str, ...] | None:
    """The model's class names: the source's, else numbered ``"0" .. "K-1"``.

    ``output`` is the probe's output. A classifier (``(1, K)``) without names gets numbered ones, so every view
    reports its K classes (``hub show``: ``"classes": K``) whether or not its manifest entry gives ``num_classes``,
    and two unnamed K-class models still share their classes for the output-comparing peers. Other outputs are
    numbered only when the manifest gives ``num_classes``. A count that disagrees with the output's width is a
    manifest mistake, reported now rather than as a wrong class later.
    """
    width = output.shape[1] if output.ndim == 2 else None
    claims = (
        (spec.num_classes, f"its manifest entry says num_classes = {spec.num_classes}"),
        (len(classes) if classes else None, f"it has {len(classes or ())} class names"),
    )
    for count, claim in claims:
        if count is not None and width is not None and count != width:
            raise ModelLoadError(
                f"model {spec.id!r}: {claim}, but the model gives {width} outputs; correct the manifest entry"
            )
    count = width if width is not None else spec.num_classes
    if classes is None and count is not None:
        return tuple(str(k) for k in range(count))
    return classes


def _architecture_name(module: nn.Module) -> str:
    return getattr(module, "original_name", None) or type(module).__name__


def load_model(spec: ModelSpec, space: InputSpace) -> LoadedModel:
    """Load ``spec`` on the CPU in eval mode, checked against ``space``; raises :class:`ModelLoadError`.

    An entry with ``access = "query"`` and an ``api:`` source load as query-only modules (outputs only; their fields
    need ``gradient="zeroth-order"``).
    """
    if spec.kind == "builtin":
        spec, builtin_space = resolve_builtin(spec)
        if builtin_space.shape != space.shape and spec.preprocess.is_identity:
            raise ModelLoadError(
                f"model {spec.id!r}: the built-in zoo's input space is {builtin_space.shape}, this zoo's is "
                f"{space.shape}; give the entry a preprocess that resizes to {builtin_space.shape[1:]}"
            )
    loaded = _load_source(spec)
    module, preprocess = loaded.module, loaded.preprocess
    set_training(module, False)
    output = check_fits_space(module, spec, preprocess, space)
    # A served model has no weights to hash: its answers on fixed probes stand for them. A local model made
    # query-only keeps its weights' digest: it is the same function, and its fields differ by their FieldConfig.
    try:
        digest = (
            answers_digest(module, preprocess, space)
            if isinstance(module, ApiModel)
            else model_digest(module, preprocess)
        )
    except ModelLoadError as error:  # a frozen graph's constant with no readable content
        raise ModelLoadError(f"model {spec.id!r}: {error}") from None
    if spec.extra.get("access") == "query" and not isinstance(module, ApiModel):
        module = QueryOnlyModel(module)
    return LoadedModel(
        spec=spec,
        module=module,
        preprocess=preprocess,
        space=space,
        digest=digest,
        num_params=count_parameters(module),
        arch=spec.arch or loaded.arch or _architecture_name(module),
        classes=class_names(spec, loaded.classes, output),
        description=loaded.description,
    )
