"""From a ModelSpec to a LoadedModel: pick the source, load safely, check it fits the input space."""

from __future__ import annotations

import torch
from torch import nn

from gifviz.errors import ModelLoadError
from gifviz.hub.digest import count_parameters, model_digest
from gifviz.hub.files import check_file, file_format, load_torchscript
from gifviz.hub.spec import LoadedModel, ModelSpec
from gifviz.space import InputSpace, PreprocessedModel


def _load_module(spec: ModelSpec) -> nn.Module:
    if spec.kind == "file":
        path = spec.path
        assert path is not None
        check_file(path, spec.id)
        kind = file_format(path)
        if kind == "torchscript":
            return load_torchscript(path, spec.id)
        raise ModelLoadError(f"model {spec.id!r}: {path.name} is a {kind} file; this build reads TorchScript only")
    raise ModelLoadError(f"model {spec.id!r}: source {spec.source!r} is not supported")


def check_fits_space(module: nn.Module, spec: ModelSpec, space: InputSpace) -> None:
    """Run one zero input of the space through preprocess and model; a mismatch becomes a clear error."""
    probe = torch.zeros((1, *space.shape))
    try:
        with torch.no_grad():
            output = PreprocessedModel(module, spec.preprocess)(probe)
    except Exception as error:  # any failure here means the model cannot take the space's inputs
        message = str(error).strip().splitlines()
        detail = message[-1][:300] if message else type(error).__name__
        raise ModelLoadError(
            f"model {spec.id!r} does not accept inputs of the zoo's space {tuple(probe.shape)} ({detail}); "
            f"the manifest's [input] has {space.channels} channel(s) of {space.height}x{space.width}: "
            "fix [input] or give the model a 'preprocess' that resizes to what it expects"
        ) from None
    if not isinstance(output, torch.Tensor):
        raise ModelLoadError(f"model {spec.id!r} returns {type(output).__name__}, not a tensor")


def load_model(spec: ModelSpec, space: InputSpace) -> LoadedModel:
    """Load ``spec`` on the CPU in eval mode, checked against ``space``; raises :class:`ModelLoadError`."""
    module = _load_module(spec)
    module.eval()
    check_fits_space(module, spec, space)
    return LoadedModel(
        spec=spec,
        module=module,
        preprocess=spec.preprocess,
        space=space,
        digest=model_digest(module, spec.preprocess),
        num_params=count_parameters(module),
        arch=spec.arch or getattr(module, "original_name", type(module).__name__),
        classes=spec.classes,
    )
