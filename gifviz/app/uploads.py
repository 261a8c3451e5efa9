"""Adding an uploaded model file to a zoo: checked first, then written beside a copy of the manifest."""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path

import tomli_w

from gifviz.errors import GifvizError
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import parse_manifest
from gifviz.hub.zoo import Zoo
from gifviz.store import FieldStore


def _absolute(entry: dict, root: Path) -> dict:
    entry = dict(entry)
    if "file" in entry:
        entry["file"] = str((root / entry["file"]).resolve())
    return entry


def add_uploaded_model(
    zoo: Zoo, filename: str, data: bytes, arch: str | None, num_classes: int, store: FieldStore | None
) -> Path:
    """Save the upload, load it against the zoo's input space (a bad file raises and leaves nothing behind), and write
    a new manifest = the zoo's entries + this model. Returns the new manifest's path."""
    if zoo.manifest.path is None:
        raise GifvizError("uploads extend a zoo read from a manifest file")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).stem) or "uploaded"
    model_id = f"upload-{stem}"
    n = 1
    while model_id in zoo.ids:
        n += 1
        model_id = f"upload-{stem}-{n}"
    folder = (store.home if store else Path(tempfile.gettempdir()) / "gifviz") / "uploads" / zoo.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model_id}{Path(filename).suffix.lower()}"
    path.write_bytes(data)
    root = zoo.manifest.path.parent
    raw = tomllib.loads(zoo.manifest.path.read_text())
    raw["models"] = [_absolute(entry, root) for entry in raw.get("models", [])]
    if raw.get("references"):
        raw["references"] = str((root / raw["references"]).resolve())
    entry = {"id": model_id, "file": str(path), "task": "uploaded", "tags": {"source": "upload"}}
    if arch:
        entry.update({"arch": arch, "num_classes": num_classes})
    raw["models"].append(entry)
    manifest_path = folder / f"{zoo.name}+uploads.toml"
    try:
        manifest = parse_manifest(raw, manifest_path)
        load_model(manifest.spec(model_id), manifest.space)
    except GifvizError:
        path.unlink(missing_ok=True)
        raise
    manifest_path.write_text(tomli_w.dumps(raw))
    return manifest_path
