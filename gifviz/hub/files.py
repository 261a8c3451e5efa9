"""Loading model files without ever running a stranger's code.

TorchScript and ``torch.export`` programs carry their own code in a restricted format; state dicts are read with
``torch.load(weights_only=True)`` (no arbitrary unpickling) or safetensors, then poured into a known architecture.
"""

from __future__ import annotations

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
