"""A visitor's uploaded model: checked (size, content) before anything is written, then written to that visitor's
own folder beside a new manifest (their working zoo: the zoo they uploaded into, plus this model).

Each visitor has a folder of their own (:func:`visitor_folder`), and every file in it is created, never replaced: two
visitors uploading at once, or one visitor uploading twice, cannot overwrite each other's models or manifests.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import tomllib
import zipfile
from pathlib import Path

import tomli_w

from gifviz.app.serving import CODE_VARIABLE, LIMIT_VARIABLES, ServingPolicy, ServingRefused, size_text
from gifviz.errors import GifvizError, ModelLoadError
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import absolute_paths, parse_manifest
from gifviz.hub.zoo import Zoo

# What the upload widget offers. .pt/.pth: TorchScript archives or torch.save state dicts (both zip archives);
# .pt2: torch.export programs, which only a server that allows code-running sources loads (see gifviz.app.serving).
MODEL_SUFFIXES = (".pt", ".pth", ".pt2", ".safetensors")
ZIP_SUFFIXES = (".pt", ".pth", ".pt2")
# A visitor id names a folder: only the random hex ids the app makes are accepted, so no id can lead elsewhere.
VISITOR_ID = re.compile(r"[0-9a-f]{8,64}")
# Longest file-name stem kept from an upload (the rest is cut): names end up in ids, tables and paths.
STEM_CHARS = 64
# A safetensors header larger than this is not a model's: safetensors itself refuses headers over 100 MB.
MAX_HEADER_BYTES = 100_000_000


def visitor_folder(visitor: str, home: Path) -> Path:
    """``home/uploads/<visitor>/``, created: the one folder a visitor's uploads and working zoos are written to."""
    if not VISITOR_ID.fullmatch(visitor):
        raise GifvizError(f"visitor id {visitor!r} is not one the app made (lowercase hex)")
    folder = home / "uploads" / visitor
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_stem(filename: str) -> str:
    """The upload's file-name stem as letters, digits, ``_``, ``.`` and ``-`` only, no leading dot, at most
    ``STEM_CHARS`` characters (``uploaded`` when nothing is left): fit for a model id and a file name."""
    stem = Path(filename.replace("\\", "/")).stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".")[:STEM_CHARS] or "uploaded"


def check_model_upload(filename: str, data: bytes, policy: ServingPolicy) -> str:
    """Refuse an upload before anything is written: over the size limit, a type the app does not take (``.pt2``
    unless the operator allows code-running files), or content that is not what its suffix says. One
    :class:`~gifviz.errors.GifvizError` naming the file; returns the (lowercase) suffix."""
    name = Path(filename.replace("\\", "/")).name
    if len(data) > policy.max_upload_bytes:
        raise ServingRefused(
            f"the uploaded file {name} is {size_text(len(data))}, over this server's limit of "
            f"{size_text(policy.max_upload_bytes)} per upload ({LIMIT_VARIABLES['max_upload_mb']})"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ServingRefused(
            f"the uploaded file {name} is not a model file gifviz takes; upload a TorchScript .pt, a state dict "
            ".pt/.pth (with its architecture) or .safetensors"
        )
    if suffix == ".pt2" and not policy.allow_code:
        raise ServingRefused(
            f"the uploaded file {name} is a torch.export program, and loading one can unpickle arbitrary Python; "
            f"this server does not run code from model files (its operator can allow it with {CODE_VARIABLE}=1); "
            "upload TorchScript or .safetensors instead"
        )
    model_id = f"upload-{safe_stem(name)}"
    if not data:
        raise ModelLoadError(f"model {model_id!r}: the uploaded file {name} is empty; upload the model file again")
    if suffix in ZIP_SUFFIXES and not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelLoadError(
            f"model {model_id!r}: {name} is not a readable PyTorch file (TorchScript, torch.save and torch.export "
            "files are zip archives; this is none); upload the file as PyTorch saved it"
        )
    if suffix == ".safetensors":
        problem = safetensors_problem(data)
        if problem:
            raise ModelLoadError(
                f"model {model_id!r}: {name} is not a safetensors file ({problem}); upload the file as "
                "safetensors.torch.save_file wrote it"
            )
    return suffix


def safetensors_problem(data: bytes) -> str | None:
    """What is wrong with ``data`` as a safetensors file, judged from its header alone (``None``: nothing).

    The format: 8 bytes little-endian header length ``n``, ``n`` bytes of JSON mapping tensor names to
    ``{"dtype", "shape", "data_offsets": [begin, end]}`` (plus an optional ``__metadata__``), then the tensor bytes.
    """
    if len(data) < 8:
        return "shorter than its 8-byte header length"
    size = int.from_bytes(data[:8], "little")
    if size < 2 or size > min(len(data) - 8, MAX_HEADER_BYTES):
        return f"its header length {size} does not fit a file of {len(data)} bytes"
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "its header is not JSON"
    if not isinstance(header, dict):
        return "its header is not a table of tensors"
    body = len(data) - 8 - size
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        if not (isinstance(entry, dict) and {"dtype", "shape", "data_offsets"} <= set(entry)):
            return f"tensor {key[:60]!r} lacks dtype, shape or data_offsets"
        offsets = entry["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(v, int) for v in offsets)
                and 0 <= offsets[0] <= offsets[1] <= body):  # fmt: skip
            return f"tensor {key[:60]!r} lies outside the file"
    return None


def add_uploaded_model(
    zoo: Zoo,
    filename: str,
    data: bytes,
    arch: str | None,
    num_classes: int,
    folder: Path,
    policy: ServingPolicy | None = None,
) -> Path:
    """Check the upload (:func:`check_model_upload`), save it in ``folder`` (the visitor's), load it against the
    zoo's input space (a bad file raises and leaves nothing behind), and write a new manifest = the zoo's entries +
    this model. Returns the new manifest's path.

    The new manifest lives in another folder than the zoo's, so every path of the zoo's manifest (model files,
    ``hub:`` sources, references, ``[data]`` files) is made absolute first, by the manifest reader's own rule.
    Both files are new (``<zoo>+<model id>.toml`` beside ``<model id><suffix>``), written whole or not at all; no
    existing file is ever replaced, so a link to an earlier working zoo keeps showing that zoo.
    """
    policy = policy or ServingPolicy()
    if zoo.manifest.path is None:
        raise GifvizError("uploads extend a zoo read from a manifest file")
    suffix = check_model_upload(filename, data, policy)
    stem = safe_stem(filename)
    zoo_name = re.sub(r"[^A-Za-z0-9_.-]", "_", zoo.name)[:STEM_CHARS] or "zoo"
    raw = absolute_paths(tomllib.loads(zoo.manifest.path.read_text()), zoo.manifest.path.parent)
    n = 1
    while True:
        model_id = f"upload-{stem}" if n == 1 else f"upload-{stem}-{n}"
        path, manifest_path = folder / f"{model_id}{suffix}", folder / f"{zoo_name}+{model_id}.toml"
        if model_id not in zoo.ids and not manifest_path.exists() and write_new(path, data):
            break
        n += 1
    entry = {"id": model_id, "file": str(path), "task": "uploaded", "tags": {"source": "upload"}}
    if arch:
        entry.update({"arch": arch, "num_classes": num_classes})
    raw["models"] = [*raw.get("models", []), entry]
    try:
        manifest = parse_manifest(raw, manifest_path)
        load_model(manifest.spec(model_id), manifest.space)
        if not write_new(manifest_path, tomli_w.dumps(raw).encode()):
            raise GifvizError(f"{manifest_path.name} appeared while the upload was checked; upload it again")
    except GifvizError:
        path.unlink(missing_ok=True)
        raise
    return manifest_path


def write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data``, whole or not at all, unless it exists: ``False`` then, and nothing changes.

    The bytes go to a temporary file beside ``path`` first, then a hard link gives it its name; linking fails on an
    existing name, so of two writers racing for one name exactly one wins, and nobody sees half a file.
    """
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
    except OSError as error:
        raise GifvizError(
            f"the server cannot store the upload ({error.strerror}); its operator should make GIFVIZ_HOME writable"
        ) from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
