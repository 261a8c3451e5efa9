"""Zoo manifests (TOML): the input space, where references live, and one ``[[models]]`` entry per model.

Example::

    name = "my-zoo"
    [input]
    channels = 1            # pixel values in [0, 1] unless `range` says otherwise
    size = [16, 16]         # H, W
    [[models]]
    id = "source"
    file = "models/source.pt"   # relative to the manifest
    task = "digit"
    [models.tags]
    relation = "source"

Every key is checked: a misspelt key is an error, not silently ignored.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from gifviz.constants import SOURCE_SCHEMES
from gifviz.errors import ConfigError, ManifestError
from gifviz.hub.api_source import ApiSettings, check_api_source
from gifviz.hub.hf import check_hf_source
from gifviz.hub.query_only import ACCESS_MODES
from gifviz.hub.spec import ModelSpec
from gifviz.hub.timm_models import check_timm_source
from gifviz.space import InputSpace, Preprocess

TOP_KEYS = {"name", "description", "version", "input", "references", "models", "data"}
INPUT_KEYS = {"channels", "size", "range"}
# Keys of a model entry kept in ModelSpec.extra.
EXTRA_KEYS = (
    "family",
    "recipe",
    "seed",
    "accuracy",
    "metrics",
    "digest",
    "description",
    "build_seconds",
    "pretrained",
    "trusted",
    "access",
    "api",
)
# Every key a model entry may have: those ModelSpec reads itself, and the extra ones.
MODEL_KEYS = {
    "id",
    "file",
    "source",
    "arch",
    "num_classes",
    "preprocess",
    "task",
    "classes",
    "tags",
    "parent",
    "relation",
    *EXTRA_KEYS,
}
# Keys of the free [data] table that name files, relative to the manifest like `file` and `references`.
DATA_PATH_KEYS = ("transferability", "checks", "reference_labels")


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A parsed manifest.

    Attributes:
        name: the zoo's name.
        path: the manifest file (``None`` when built in memory).
        space: the shared input space.
        specs: model entries, in file order.
        references: folder of reference images, resolved against the manifest's folder, when given.
        description: free text.
        data: free ``[data]`` table (zoo-level facts, e.g. where the built-in zoo keeps its splits).
    """

    name: str
    path: Path | None
    space: InputSpace
    specs: tuple[ModelSpec, ...]
    references: Path | None = None
    description: str = ""
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def spec(self, model_id: str) -> ModelSpec:
        for spec in self.specs:
            if spec.id == model_id:
                return spec
        raise ManifestError(f"no model {model_id!r} in zoo {self.name!r}; its models: {', '.join(self.ids)}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self.specs)


def _where(path: Path | None) -> str:
    return str(path) if path else "manifest"


def _check_keys(found: dict[str, Any], allowed: set[str], context: str) -> None:
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise ManifestError(f"{context}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def parse_space(table: Any, where: str) -> InputSpace:
    if not isinstance(table, dict):
        raise ManifestError(f"{where}: missing [input] table with channels and size")
    _check_keys(table, INPUT_KEYS, f"{where} [input]")
    try:
        channels = int(table["channels"])
        height, width = (int(v) for v in table["size"])
        value_range = tuple(float(v) for v in table.get("range", (0.0, 1.0)))
        return InputSpace(channels, height, width, value_range)  # type: ignore[arg-type]
    except KeyError as error:
        raise ManifestError(
            f"{where} [input]: missing key {error.args[0]!r} (need channels and size = [H, W])"
        ) from None
    except (TypeError, ValueError, ConfigError) as error:
        raise ManifestError(f"{where} [input]: {error}") from None


def _absolute_source(source: str, root: Path) -> str:
    """``source`` with its path resolved against ``root``: ``file:<path>`` and ``hub:<dir>:<entry>`` (the directory
    relative to the manifest); other schemes, and malformed sources (reported by :func:`_source`), unchanged."""
    scheme, _, rest = source.partition(":")
    if scheme == "file" and rest:
        return "file:" + str((root / rest).resolve())
    if scheme == "hub" and rest.count(":") == 1:
        directory, entry = rest.split(":")
        return f"hub:{(root / directory).resolve()}:{entry}"
    return source


def _source(entry: dict[str, Any], root: Path, context: str) -> str:
    if ("file" in entry) == ("source" in entry):
        raise ManifestError(f"{context}: give exactly one of 'file' or 'source'")
    if "file" in entry:
        return "file:" + str((root / str(entry["file"])).resolve())
    source = str(entry["source"])
    scheme = source.split(":", 1)[0]
    if scheme not in SOURCE_SCHEMES or ":" not in source:
        raise ManifestError(
            f"{context}: source {source!r} is not one of {', '.join(s + ':...' for s in SOURCE_SCHEMES)}"
        )
    if scheme == "hub" and len(source.split(":")) != 3:
        raise ManifestError(f"{context}: hub sources are 'hub:<directory>:<entry>'; got {source!r}")
    checks = {"hf": check_hf_source, "timm": check_timm_source, "api": check_api_source}
    problem = checks[scheme](source) if scheme in checks else None
    if problem:
        raise ManifestError(f"{context}: {problem}")
    return _absolute_source(source, root)


def _check_pretrained(entry: dict[str, Any], source: str, context: str) -> None:
    """``pretrained = false`` asks a timm: source for random weights; anywhere else it would be silently ignored."""
    if "pretrained" not in entry:
        return
    if not isinstance(entry["pretrained"], bool):
        raise ManifestError(f"{context}: 'pretrained' must be true or false; got {entry['pretrained']!r}")
    if not source.startswith("timm:"):
        raise ManifestError(f"{context}: 'pretrained' applies to timm: sources only; remove it from this entry")


def _check_trusted(entry: dict[str, Any], context: str) -> None:
    """``trusted = true`` vouches for a file whose loader unpickles (a ``.pt2`` program); it must be a boolean."""
    if "trusted" in entry and not isinstance(entry["trusted"], bool):
        raise ManifestError(f"{context}: 'trusted' must be true or false; got {entry['trusted']!r}")


def _check_access(entry: dict[str, Any], source: str, context: str) -> None:
    """``access = "query"`` makes a model query-only; an ``api:`` source is query-only by nature, and its
    ``[models.api]`` table (client limits) belongs to api: sources only."""
    access = entry.get("access")
    if access is not None and access not in ACCESS_MODES:
        raise ManifestError(f"{context}: access = {access!r} is not one of {', '.join(map(repr, ACCESS_MODES))}")
    is_api = source.startswith("api:")
    if is_api and access == "weights":
        raise ManifestError(f'{context}: an api: source answers queries only; remove access = "weights"')
    if "api" in entry and not is_api:
        raise ManifestError(f"{context}: the [models.api] table applies to api: sources only; remove it")
    if is_api:
        ApiSettings.from_table(entry.get("api"), context)


def absolute_paths(data: dict[str, Any], root: Path) -> dict[str, Any]:
    """A copy of raw manifest ``data`` (parsed TOML) with every relative path resolved against ``root``, the
    manifest's folder: each model's ``file``, its ``file:`` or ``hub:`` source, ``references``, and the ``[data]``
    keys that name files (:data:`DATA_PATH_KEYS`).

    A manifest written in another folder (the one an upload writes) then still names the same files. Values of the
    wrong type are left as they are, for :func:`parse_manifest` to report.
    """
    data = dict(data)
    models = data.get("models")
    if isinstance(models, list):
        data["models"] = [_absolute_entry(entry, root) if isinstance(entry, dict) else entry for entry in models]
    if isinstance(data.get("references"), str) and data["references"]:
        data["references"] = str((root / data["references"]).resolve())
    if isinstance(data.get("data"), dict):
        table = dict(data["data"])
        for key in DATA_PATH_KEYS:
            if isinstance(table.get(key), str) and table[key]:
                table[key] = str((root / table[key]).resolve())
        data["data"] = table
    return data


def _absolute_entry(entry: dict[str, Any], root: Path) -> dict[str, Any]:
    entry = dict(entry)
    if isinstance(entry.get("file"), str):
        entry["file"] = str((root / entry["file"]).resolve())
    if isinstance(entry.get("source"), str):
        entry["source"] = _absolute_source(entry["source"], root)
    return entry


def parse_model(entry: Any, root: Path, where: str, index: int) -> ModelSpec:
    context = f"{where} [[models]] #{index + 1}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{context}: must be a table")
    if "id" in entry:
        context = f"{where} model {entry['id']!r}"
    _check_keys(entry, MODEL_KEYS, context)
    if not entry.get("id") or not isinstance(entry["id"], str):
        raise ManifestError(f"{context}: missing or empty 'id'")
    tags = entry.get("tags", {})
    if not isinstance(tags, dict):
        raise ManifestError(f"{context}: 'tags' must be a table of key = value")
    try:
        preprocess = Preprocess.from_dict(entry.get("preprocess"))
    except (ConfigError, TypeError, ValueError) as error:
        raise ManifestError(f"{context} preprocess: {error}") from None
    classes = entry.get("classes")
    source = _source(entry, root, context)
    _check_pretrained(entry, source, context)
    _check_trusted(entry, context)
    _check_access(entry, source, context)
    return ModelSpec(
        id=entry["id"],
        source=source,
        arch=entry.get("arch"),
        num_classes=int(entry["num_classes"]) if "num_classes" in entry else None,
        preprocess=preprocess,
        task=entry.get("task"),
        classes=tuple(str(c) for c in classes) if classes is not None else None,
        tags=dict(tags),
        parent=entry.get("parent", tags.get("parent")),
        relation=entry.get("relation", tags.get("relation")),
        extra={key: entry[key] for key in EXTRA_KEYS if key in entry},
    )


def parse_manifest(data: dict[str, Any], path: Path | None = None) -> Manifest:
    """Validate a manifest's TOML data; ``path`` resolves relative files."""
    where = _where(path)
    root = path.parent if path else Path.cwd()
    _check_keys(data, TOP_KEYS, where)
    data = absolute_paths(data, root)
    space = parse_space(data.get("input"), where)
    entries = data.get("models", [])
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{where}: no [[models]] entries")
    specs = tuple(parse_model(entry, root, where, i) for i, entry in enumerate(entries))
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise ManifestError(f"{where}: duplicate model id {spec.id!r}; every id must be unique")
        seen.add(spec.id)
    references = (root / str(data["references"])).resolve() if data.get("references") else None
    return Manifest(
        name=str(data.get("name", path.stem if path else "zoo")),
        path=path,
        space=space,
        specs=specs,
        references=references,
        description=str(data.get("description", "")),
        data=dict(data.get("data", {})),
    )


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist; pass the path of a zoo .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path} is not valid TOML ({error}); fix the syntax") from None
    return parse_manifest(data, path)
