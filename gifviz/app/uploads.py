"""Adding an uploaded model file to a zoo: checked first, then written beside a copy of the manifest."""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path

import tomli_w

from gifviz.errors import GifvizError
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import absolute_paths, parse_manifest
from gifviz.hub.zoo import Zoo
from gifviz.outputs import write_files
from gifviz.store import FieldStore


def add_uploaded_model(
    zoo: Zoo, filename: str, data: bytes, arch: str | None, num_classes: int, store: FieldStore | None
) -> Path:
    """Save the upload, load it against the zoo's input space (a bad file raises and leaves nothing behind), and write
    a new manifest = the zoo's entries + this model. Returns the new manifest's path.

    The new manifest lives in another folder than the zoo's, so every path of the zoo's manifest (model files,
    ``hub:`` sources, references, ``[data]`` files) is made absolute first, by the manifest reader's own rule.
    Both files are written atomically; an existing model file is never replaced.
    """
    if zoo.manifest.path is None:
        raise GifvizError("uploads extend a zoo read from a manifest file")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).stem) or "uploaded"
    model_id = f"upload-{stem}"
    suffix = Path(filename).suffix.lower()
    folder = (store.home if store else Path(tempfile.gettempdir()) / "gifviz") / "uploads" / zoo.name
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while model_id in zoo.ids or (folder / f"{model_id}{suffix}").exists():
        n += 1
        model_id = f"upload-{stem}-{n}"
    path = folder / f"{model_id}{suffix}"
    write_files({path: data})
    raw = absolute_paths(tomllib.loads(zoo.manifest.path.read_text()), zoo.manifest.path.parent)
    raw["models"] = list(raw.get("models", []))
    entry = {"id": model_id, "file": str(path), "task": "uploaded", "tags": {"source": "upload"}}
    if arch:
        entry.update({"arch": arch, "num_classes": num_classes})
    raw["models"].append(entry)
    manifest_path = folder / f"{zoo.name}+uploads.toml"
    try:
        manifest = parse_manifest(raw, manifest_path)
        load_model(manifest.spec(model_id), manifest.space)
        write_files({manifest_path: tomli_w.dumps(raw)})
    except GifvizError:
        path.unlink(missing_ok=True)
        raise
    return manifest_path
