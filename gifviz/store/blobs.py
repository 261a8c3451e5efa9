"""One field per blob: a safetensors file written atomically (temporary file, fsync, rename) with a sha256 checksum."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from gifviz.config import FieldConfig
from gifviz.field import Field

FORMAT_VERSION = 1


class BlobError(Exception):
    """A blob is missing, cut short, altered or unreadable (the store removes it and recomputes)."""


def encode_field(field: Field, float16: bool = False) -> bytes:
    """Serialize ``field``: tensors in safetensors, the rest as JSON in its header."""
    values = field.values.to(torch.float16 if float16 else torch.float32).contiguous()
    tensors = {
        "values": values,
        "alphas": field.alphas.contiguous(),
        "endpoint_scores": field.endpoint_scores.contiguous(),
        "baseline_scores": field.baseline_scores.contiguous(),
    }
    if field.targets is not None:
        tensors["targets"] = field.targets.contiguous()
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "model_id": field.model_id,
        "map_shape": json.dumps(list(field.map_shape)),
        "reference_names": json.dumps(list(field.reference_names)),
        "field_config": field.config.to_json(),
    }
    return save(tensors, metadata=metadata)


def decode_field(data: bytes) -> Field:
    """Inverse of :func:`encode_field`; values come back as float32 ``(N, S, D)``."""
    try:
        tensors = load(data)
        header_length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_length])["__metadata__"]
        return Field(
            values=tensors["values"].to(torch.float32),
            map_shape=tuple(json.loads(metadata["map_shape"])),
            alphas=tensors["alphas"],
            targets=tensors.get("targets"),
            endpoint_scores=tensors["endpoint_scores"],
            baseline_scores=tensors["baseline_scores"],
            config=FieldConfig.from_dict(json.loads(metadata["field_config"])),
            reference_names=tuple(json.loads(metadata["reference_names"])),
            model_id=metadata["model_id"],
        )
    except (SafetensorError, KeyError, ValueError, TypeError, IndexError) as error:  # JSONDecodeError is a ValueError
        raise BlobError(f"unreadable field blob ({type(error).__name__}: {error})") from None


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the whole file or nothing: temp file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_checked(path: Path, expected: str) -> bytes:
    """The blob's bytes, after checking their sha256 against ``expected``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BlobError(f"cannot read {path} ({error.strerror})") from None
    if checksum(data) != expected:
        raise BlobError(f"{path.name} does not match its checksum ({len(data)} bytes): cut short or altered")
    return data
