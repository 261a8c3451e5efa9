"""``builtin:<zoo>/<id>``: models of the zoos shipped in ``assets/zoo/`` (or ``$GIFVIZ_BUILTIN_ZOO``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gifviz.constants import builtin_root
from gifviz.errors import ManifestError, ModelLoadError
from gifviz.hub.manifest import load_manifest
from gifviz.hub.spec import ModelSpec
from gifviz.space import InputSpace

MANIFEST_NAME = "zoo.toml"


def builtin_zoos() -> list[str]:
    root = builtin_root()
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST_NAME).is_file()) if root.is_dir() else []


def builtin_manifest_path(zoo: str) -> Path:
    path = builtin_root() / zoo / MANIFEST_NAME
    if not path.is_file():
        known = ", ".join(builtin_zoos()) or "none (build one with `gifviz zoo build`)"
        raise ModelLoadError(f"no built-in zoo {zoo!r} at {path.parent}; built-in zoos here: {known}")
    return path


def resolve_builtin(spec: ModelSpec) -> tuple[ModelSpec, InputSpace]:
    """The built-in zoo's own spec for ``builtin:<zoo>/<id>``, under the caller's id and with the caller's tags,
    and that zoo's input space."""
    body = spec.source.split(":", 1)[1]
    zoo, _, model_id = body.partition("/")
    if not model_id:
        raise ModelLoadError(f"model {spec.id!r}: builtin sources are 'builtin:<zoo>/<id>'; got {spec.source!r}")
    manifest = load_manifest(builtin_manifest_path(zoo))
    try:
        inner = manifest.spec(model_id)
    except ManifestError:
        raise ModelLoadError(f"model {spec.id!r}: built-in zoo {zoo!r} has no model {model_id!r}") from None
    return dataclasses.replace(
        inner,
        id=spec.id,
        tags={**inner.tags, **spec.tags},
        task=spec.task or inner.task,
        preprocess=inner.preprocess if spec.preprocess.is_identity else spec.preprocess,
    ), manifest.space
