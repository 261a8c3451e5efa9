"""One field per blob: a safetensors file written atomically (temporary file, fsync, rename).

Format 2 blobs describe themselves: besides the field, their header carries what the store's index row holds (model
and reference digests, device, timing, creation time) and ``content_sha256``, a checksum of the tensors and of that
header. The index can then be rebuilt from the blobs alone, each one verified, when ``index.sqlite`` is lost or
corrupt. Format 1 blobs (no digests, no checksum of their own) still decode, but cannot be re-indexed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from gifviz.config import FieldConfig
from gifviz.field.result import Field

FORMAT_VERSION = 2
READABLE_VERSIONS = ("1", "2")


class BlobError(Exception):
    """A blob is missing, cut short, altered or unreadable (the store removes it and recomputes)."""


@dataclasses.dataclass(frozen=True)
class BlobProvenance:
    """What a format 2 blob says about itself beyond the field: the index row's fields that a field does not hold."""

    model_digest: str
    refs_digest: str
    device: str
    compute_seconds: float
    created: float


def encode_field(field: Field, float16: bool = False, provenance: BlobProvenance | None = None) -> bytes:
    """Serialize ``field``: tensors in safetensors, the rest (and ``provenance`` when given) as JSON in its header."""
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
    if field.queries is not None:  # zeroth-order fields: the model queries they cost (absent: autograd, as before)
        metadata["queries"] = str(field.queries)
    if provenance is not None:
        metadata["provenance"] = json.dumps(dataclasses.asdict(provenance), sort_keys=True)
    metadata["content_sha256"] = content_checksum(tensors, metadata)
    return save(tensors, metadata=metadata)


def content_checksum(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    """sha256 of every tensor (name, dtype, shape, bytes) and of the header's metadata, ``content_sha256`` aside.

    It lives inside the blob, so a blob can be checked without its index row; the layout safetensors picks for the
    bytes does not enter it."""
    digest = hashlib.sha256()
    digest.update(json.dumps({k: v for k, v in metadata.items() if k != "content_sha256"}, sort_keys=True).encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"\n{name}:{tensor.dtype}:{list(tensor.shape)}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy().data if tensor.numel() else b"")
    return digest.hexdigest()


def _read(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors = load(data)
    header_length = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + header_length])["__metadata__"]
    if metadata.get("format_version") not in READABLE_VERSIONS:
        raise ValueError(f"blob format {metadata.get('format_version')!r} is not one of {READABLE_VERSIONS}")
    return tensors, metadata


def _field(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Field:
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
        queries=int(metadata["queries"]) if "queries" in metadata else None,
    )


def decode_field(data: bytes) -> Field:
    """Inverse of :func:`encode_field`; values come back as float32 ``(N, S, D)``."""
    try:
        return _field(*_read(data))
    except (SafetensorError, KeyError, ValueError, TypeError, IndexError) as error:  # JSONDecodeError is a ValueError
        raise BlobError(f"unreadable field blob ({type(error).__name__}: {error})") from None


@dataclasses.dataclass(frozen=True)
class SelfDescribedBlob:
    """A blob checked against its own ``content_sha256``: its field and what the index row needs."""

    field: Field
    provenance: BlobProvenance
    dtype: str


class NotSelfDescribing(BlobError):  # noqa: N818 (reads as the blob's state)
    """The blob is whole as far as can be told, but older than format 2: it carries no digests to re-index it by."""


def decode_self_described(data: bytes) -> SelfDescribedBlob:
    """Decode a blob and check it against the checksum it carries (no index row needed).

    Raises :class:`NotSelfDescribing` for readable blobs without provenance (format 1 or written by a worker), and
    :class:`BlobError` for blobs that are unreadable or do not match their own checksum."""
    try:
        tensors, metadata = _read(data)
        expected = metadata.get("content_sha256")
        if "provenance" not in metadata or expected is None:
            _field(tensors, metadata)  # readable at least: it is kept, not thrown away
            raise NotSelfDescribing(f"format {metadata.get('format_version')} blob without provenance")
        if content_checksum(tensors, metadata) != expected:
            raise BlobError("does not match the checksum it carries: altered")
        provenance = BlobProvenance(**json.loads(metadata["provenance"]))
        field = _field(tensors, metadata)
    except (SafetensorError, KeyError, ValueError, TypeError, IndexError) as error:
        raise BlobError(f"unreadable field blob ({type(error).__name__}: {error})") from None
    dtype = "float16" if tensors["values"].dtype == torch.float16 else "float32"
    return SelfDescribedBlob(field, provenance, dtype)


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
