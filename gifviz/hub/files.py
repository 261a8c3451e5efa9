"""Loading model files without running a stranger's code.

State dicts are read with ``torch.load(weights_only=True)`` (no arbitrary unpickling) or safetensors, then poured into
a known architecture; TorchScript files carry their code in TorchScript's restricted format. ``torch.export`` programs
(``.pt2``) are different: ``torch.export.load`` unpickles parts of the archive with full pickle (torch documents it:
never load one from an untrusted source), so a ``.pt2`` loads only when its manifest entry says ``trusted = true``.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from gifviz.errors import ModelLoadError

TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".jit", ".ts", ".torchscript")


def file_format(path: Path) -> str:
    """``torchscript``, ``export``, ``safetensors`` or ``state_dict``, from the suffix and the archive's contents.

    ``.pt`` files are either TorchScript archives (they hold a ``code/`` folder) or ``torch.save`` state dicts.
    """
    suffix = path.suffix.lower()
    if suffix == ".pt2":
        return "export"
    if suffix == ".safetensors":
        return "safetensors"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any("/code/" in name or name.endswith("constants.pkl") for name in names):
            return "torchscript"
    return "state_dict"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def load_torchscript(path: Path, model_id: str) -> nn.Module:
    """A TorchScript archive as a module on the CPU."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream but still loads
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # torch raises RuntimeError/ValueError/OSError for damaged archives
        raise ModelLoadError(
            f"model {model_id!r}: {path} is not a readable TorchScript archive ({_first_line(error)}); "
            "re-save it with torch.jit.save, or use .pt2, .safetensors or a state dict with 'arch'"
        ) from None


def check_file(path: Path, model_id: str) -> None:
    if not path.exists():
        raise ModelLoadError(
            f"model {model_id!r}: file {path} does not exist; fix its 'file' entry (paths are relative to the manifest)"
        )
    if path.stat().st_size == 0:
        raise ModelLoadError(f"model {model_id!r}: file {path} is empty; copy the model file again")


def load_export(path: Path, model_id: str, trusted: bool = False) -> nn.Module:
    """A ``torch.export`` program (``.pt2``) as a module, when its entry vouches for it (``trusted``): loading one
    unpickles with full pickle, which can run any code the file's author put there."""
    if not trusted:
        raise ModelLoadError(
            f"model {model_id!r}: {path.name} is a torch.export program, and loading one runs pickle, which can "
            "execute code; add trusted = true to its manifest entry if you made it yourself, or share the model as "
            "safetensors with its arch"
        )
    try:
        program = torch.export.load(str(path))
        # unflatten keeps the module hierarchy (program.module() inlines it into one graph), so forward hooks on an
        # inner layer fire: layer targets and feature-based peers work on .pt2 files too. Same parameters, same
        # function.
        return torch.export.unflatten(program)
    except Exception as error:  # torch raises many kinds for damaged programs
        raise ModelLoadError(
            f"model {model_id!r}: {path} is not a readable torch.export program ({_first_line(error)}); "
            "re-save it with torch.export.save"
        ) from None


def read_safetensors(path: Path, model_id: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelLoadError(
            f"model {model_id!r}: {path} is not a readable safetensors file ({_first_line(error)}); "
            "the file may be cut short: copy it again"
        ) from None


def read_state_dict(path: Path, model_id: str) -> dict[str, torch.Tensor]:
    """A ``torch.save`` state dict, unpickled with ``weights_only=True``: tensors and plain containers only."""
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelLoadError(
            f"model {model_id!r}: refused to load {path}: it holds Python objects beyond tensors, and gifviz never "
            f"unpickles code (weights_only=True said: {_first_line(error)}). Re-save only the state dict "
            "(torch.save(model.state_dict(), ...)) or use safetensors"
        ) from None
    except Exception as error:  # truncated zip, wrong magic number, ...
        raise ModelLoadError(
            f"model {model_id!r}: {path} is not a readable PyTorch file ({_first_line(error)}); "
            "the file may be cut short or not a model: copy it again"
        ) from None
    return unwrap_state_dict(data, path, model_id)


def unwrap_state_dict(data: object, path: Path, model_id: str) -> dict[str, torch.Tensor]:
    """Accept a bare state dict or the common wrappers ``{"state_dict": ...}`` / ``{"model": ...}``."""
    if isinstance(data, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in data and isinstance(data[key], dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelLoadError(
            f"model {model_id!r}: {path} does not hold a state dict (name -> tensor); save model.state_dict()"
        )
    # Checkpoints saved from DataParallel / torch.compile prefix every key.
    for prefix in ("module.", "_orig_mod."):
        if data and all(key.startswith(prefix) for key in data):
            data = {key[len(prefix) :]: value for key, value in data.items()}
    return data


def fit_state_dict(module: nn.Module, state: dict[str, torch.Tensor], path: Path, model_id: str, arch: str) -> None:
    """Load ``state`` into ``module`` strictly; a mismatch lists missing and unexpected keys and wrong shapes."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{key} {tuple(state[key].shape)} vs {tuple(expected[key].shape)}"
        for key in sorted(set(expected) & set(state))
        if state[key].shape != expected[key].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_few(unexpected)}")
        if wrong:
            parts.append(f"shape mismatches (file vs {arch}) {_few(wrong)}")
        raise ModelLoadError(
            f"model {model_id!r}: {path.name} does not fit architecture {arch!r}: {'; '.join(parts)}. "
            "Check 'arch' and 'num_classes' in the manifest"
        )
    module.load_state_dict(state, strict=True)


def _few(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{f', ... {len(items) - limit} more' if len(items) > limit else ''}]"
