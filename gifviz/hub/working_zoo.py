"""A zoo built by picking models, not by typing a manifest: create it, add catalogue rows, remove, rename, tag, set
lineage, and save it as a TOML manifest that :meth:`gifviz.hub.zoo.Zoo.open` reads like any other.

Every edit is checked before it changes anything: a duplicate id, an unknown parent or a malformed source is one
line (:class:`WorkingZooError`) and the working zoo stays as it was. Saving writes the manifest atomically
(:func:`gifviz.outputs.write_file`), editing an existing one in place so its comments stay
(:mod:`gifviz.hub.toml_edit`), into the folder the caller gives (the app passes one per visitor under
``GIFVIZ_HOME``); the manifest is validated by :func:`gifviz.hub.manifest.parse_manifest` before it is written.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

from gifviz.errors import GifvizError, ManifestError
from gifviz.hub.catalogue import CatalogueRow
from gifviz.hub.manifest import Manifest, parse_manifest, parse_space
from gifviz.hub.toml_edit import edited_toml
from gifviz.outputs import write_file
from gifviz.space import InputSpace

TagValue = str | int | float | bool
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class WorkingZooError(GifvizError):
    """An edit of a working zoo that cannot be made (duplicate id, unknown model or parent, existing name)."""


def parse_space_text(text: str) -> InputSpace:
    """``"3x224x224"`` (channels x height x width) -> :class:`InputSpace` with values in [0, 1]."""
    parts = text.lower().replace(" ", "").split("x")
    try:
        channels, height, width = (int(part) for part in parts)
        return InputSpace(channels, height, width)
    except (ValueError, GifvizError):
        raise WorkingZooError(
            f"input space {text!r} is not CxHxW with positive whole numbers; write e.g. 3x224x224 (ImageNet models) "
            "or 1x28x28"
        ) from None


def manifest_file_name(name: str) -> str:
    """The manifest's file name for a zoo called ``name``: ``my zoo`` -> ``my-zoo.toml``."""
    slug = _UNSAFE.sub("-", name.strip()).strip("-.")
    if not slug:
        raise WorkingZooError(f"zoo name {name!r} has no letters or digits; give it a name such as 'imagenet-models'")
    return f"{slug}.toml"


def _id_from_source(source: str) -> str:
    """A readable id for a source: ``torchvision:resnet18@V1`` -> ``resnet18``, ``hf:org/repo`` -> ``repo``,
    ``timm:vit_small.augreg_in1k`` -> ``vit_small.augreg_in1k``, ``file:/x/model.pt`` -> ``model``."""
    scheme, _, body = source.partition(":")
    if scheme == "file":
        body = Path(body).stem
    elif scheme == "hub":
        body = body.rsplit(":", 1)[-1]
    else:
        body = body.split("@", 1)[0].rsplit("/", 1)[-1]
    return _UNSAFE.sub("-", body).strip("-") or "model"


class WorkingZoo:
    """An editable zoo manifest kept in memory until :meth:`save`.

    Attributes:
        path: where the manifest is saved (``<folder>/<name>.toml``).
        name: the zoo's name.
        space: the shared input space every model is compared on.
        references: the folder of reference images, when chosen.
        description: free text.
        models: the ``[[models]]`` entries, in order (plain dicts, as in the TOML).
        other: the manifest's other top-level entries (``version``, ``[data]``), kept as they are.
    """

    def __init__(
        self,
        path: Path,
        name: str,
        space: InputSpace,
        references: str | None = None,
        description: str = "",
        models: list[dict[str, Any]] | None = None,
        other: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.space = space
        self.references = references
        self.description = description
        self.models: list[dict[str, Any]] = models or []
        self.other: dict[str, Any] = other or {}
        # each model's id as the saved manifest writes it, so a renamed model keeps its place and comments there
        self._as_saved: dict[str, str] = {entry["id"]: entry["id"] for entry in self.models}
        # the manifest's text as this zoo last read or wrote it (None: no file yet): a file that differs at saving was
        # changed by someone else, and writing over it would undo their edit
        self._read: str | None = None

    # --- creating and opening ----------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        folder: str | Path,
        name: str,
        space: InputSpace | str,
        references: str | Path | None = None,
        description: str = "",
    ) -> WorkingZoo:
        """A new, empty working zoo saved as ``<folder>/<name>.toml``; a manifest of that name is never replaced."""
        return cls.create_at(Path(folder) / manifest_file_name(name), space, name, references, description)

    @classmethod
    def create_at(
        cls,
        path: str | Path,
        space: InputSpace | str,
        name: str | None = None,
        references: str | Path | None = None,
        description: str = "",
    ) -> WorkingZoo:
        """A new, empty working zoo saved as ``path`` (named ``name``, default the file's stem); an existing file is
        never replaced."""
        path = Path(path)
        if path.suffix != ".toml":
            raise WorkingZooError(f"a zoo manifest is a .toml file; got {str(path)!r} (name it e.g. my-zoo.toml)")
        if path.exists():
            raise WorkingZooError(
                f"a zoo manifest {path.name} already exists in {path.parent}; open it, or choose another name"
            )
        space = parse_space_text(space) if isinstance(space, str) else space
        name = (name or path.stem).strip()
        zoo = cls(path, name, space, str(Path(references).resolve()) if references else None, description)
        zoo.save()
        return zoo

    @classmethod
    def open(cls, path: str | Path) -> WorkingZoo:
        """A saved working zoo (or any manifest of ``[[models]]`` with sources or files) for editing."""
        path = Path(path).resolve()
        try:
            with path.open(encoding="utf-8", newline="") as file:  # as written: CRLF files keep their line endings
                text = file.read()
            data = tomllib.loads(text)
        except FileNotFoundError:
            raise WorkingZooError(
                f"zoo manifest {path} does not exist; create it first: gifviz hub new {path.name} --space CxHxW"
            ) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise WorkingZooError(f"{path} is not a readable TOML manifest ({error}); fix or remove it") from None
        space = parse_space(data.get("input"), str(path))
        models = data.get("models", [])
        if models:
            parse_manifest(data, path)  # the same checks as any zoo: what opens here, Zoo.open reads too
        references = data.get("references")
        modelled = {"name", "description", "input", "references", "models"}
        zoo = cls(
            path,
            str(data.get("name", path.stem)),
            space,
            str((path.parent / references).resolve()) if references else None,
            str(data.get("description", "")),
            [dict(entry) for entry in models],
            {key: value for key, value in data.items() if key not in modelled},
        )
        zoo._read = text
        return zoo

    # --- edits: each is checked on a copy, then applied --------------------------------------------------------

    def _apply(self, models: list[dict[str, Any]]) -> None:
        self._check(models)
        self.models = models

    def _entry(self, models: list[dict[str, Any]], model_id: str) -> dict[str, Any]:
        for entry in models:
            if entry["id"] == model_id:
                return entry
        known = ", ".join(entry["id"] for entry in models) or "none yet"
        raise WorkingZooError(f"zoo {self.name!r} has no model {model_id!r}; its models: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry["id"] for entry in self.models)

    def unique_id(self, wanted: str) -> str:
        """``wanted``, or ``wanted-2``, ``wanted-3``, ... whichever is not taken yet."""
        taken = set(self.ids)
        candidate, number = wanted, 2
        while candidate in taken:
            candidate, number = f"{wanted}-{number}", number + 1
        return candidate

    def add(self, pick: CatalogueRow | str, model_id: str | None = None, **options: Any) -> str:
        """Add a catalogue row (or a source string, with further entry keys in ``options``); returns its id.

        Without ``model_id`` one is made from the source and made unique; a given ``model_id`` that is taken is an
        error. A random-init timm row gets the tag ``weights = "random init"`` so every view says so.
        """
        if isinstance(pick, CatalogueRow):
            options = {**pick.options, **options}
            source = pick.source
        else:
            source = pick
        if model_id is not None and model_id in self.ids:
            raise WorkingZooError(f"model id {model_id!r} is already in zoo {self.name!r}; choose another id")
        if model_id is not None and not model_id.strip():
            raise WorkingZooError("a model id cannot be empty; give it a name or leave it out to have one made")
        if model_id is not None and model_id != model_id.strip():
            raise WorkingZooError(f"model id {model_id!r} starts or ends with a space; write it without")
        model_id = model_id or self.unique_id(_id_from_source(source))
        entry: dict[str, Any] = {"id": model_id, "source": source, **options}
        if options.get("pretrained") is False:
            entry["tags"] = {**entry.get("tags", {}), "weights": "random init"}
        self._apply([*copy.deepcopy(self.models), entry])
        return model_id

    def remove(self, model_id: str) -> None:
        """Remove a model; models that named it as parent lose that link (and its relation)."""
        models = copy.deepcopy(self.models)
        models.remove(self._entry(models, model_id))
        for entry in models:
            if entry.get("parent") == model_id:
                entry.pop("parent")
                entry.pop("relation", None)
        self._apply(models)
        self._as_saved.pop(model_id, None)

    def rename(self, model_id: str, new_id: str) -> None:
        """Give a model a new id; its children follow."""
        if not new_id.strip():
            raise WorkingZooError(f"model {model_id!r} cannot be renamed to an empty id")
        models = copy.deepcopy(self.models)
        entry = self._entry(models, model_id)
        if new_id != model_id and new_id in self.ids:
            raise WorkingZooError(f"model id {new_id!r} is already in zoo {self.name!r}; choose another id")
        entry["id"] = new_id
        for other in models:
            if other.get("parent") == model_id:
                other["parent"] = new_id
        self._apply(models)
        if model_id in self._as_saved:
            self._as_saved[new_id] = self._as_saved.pop(model_id)

    def tag(self, model_id: str, key: str, value: TagValue | None) -> None:
        """Set tag ``key`` of a model (``None`` removes it)."""
        if not key.strip():
            raise WorkingZooError(f"model {model_id!r}: a tag needs a name")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise WorkingZooError(f"model {model_id!r}: tag {key!r} must be text, a number or true/false")
        models = copy.deepcopy(self.models)
        entry = self._entry(models, model_id)
        tags = dict(entry.get("tags", {}))
        if value is None:
            tags.pop(key, None)
        else:
            tags[key] = value
        if tags:
            entry["tags"] = tags
        else:
            entry.pop("tags", None)
        self._apply(models)

    def set_parent(self, model_id: str, parent: str | None, relation: str | None = None) -> None:
        """Say ``model_id`` derives from ``parent`` by ``relation`` (``finetune``, ``prune``, ...); ``None`` clears."""
        models = copy.deepcopy(self.models)
        entry = self._entry(models, model_id)
        if parent is None:
            entry.pop("parent", None)
            entry.pop("relation", None)
            self._apply(models)
            return
        if parent not in self.ids:
            known = ", ".join(i for i in self.ids if i != model_id) or "none"
            raise WorkingZooError(
                f"model {model_id!r}: parent {parent!r} is not in zoo {self.name!r}; its models: {known}"
            )
        entry["parent"] = parent
        if relation:
            entry["relation"] = relation
        else:
            entry.pop("relation", None)
        self._apply(models)

    def set_references(self, references: str | Path | None) -> None:
        """The folder of reference images the zoo's fields are computed on (``None``: the caller's choice)."""
        self.references = str(Path(references).resolve()) if references else None

    # --- checking and saving -----------------------------------------------------------------------------------

    def _check(self, models: list[dict[str, Any]]) -> None:
        """Checks what parse_manifest does not: parents name models of the zoo, and lineage has no cycle."""
        ids = [entry["id"] for entry in models]
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise WorkingZooError(f"model id {duplicate!r} appears twice in zoo {self.name!r}; ids must be unique")
        parents = {entry["id"]: entry.get("parent") for entry in models}
        for model_id, parent in parents.items():
            if parent is not None and parent not in parents:
                raise WorkingZooError(f"model {model_id!r}: parent {parent!r} is not in zoo {self.name!r}")
            seen = {model_id}
            while parent is not None:
                if parent in seen:
                    raise WorkingZooError(f"model {model_id!r}: its parents loop back to it; lineage must be a tree")
                seen.add(parent)
                parent = parents.get(parent)
        if models:
            try:
                parse_manifest(self._data(models), self.path)
            except ManifestError as error:
                raise WorkingZooError(str(error)) from None

    def _data(self, models: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["input"] = self.space.to_dict()
        if self.references:
            # relative to the manifest when it lies in the manifest's folder, so the folder can move whole
            folder, root = Path(self.references), self.path.parent.resolve()
            data["references"] = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
        data.update(copy.deepcopy(self.other))
        data["models"] = copy.deepcopy(models)
        return data

    def to_data(self) -> dict[str, Any]:
        """The manifest as TOML-ready data."""
        return self._data(self.models)

    def to_toml(self) -> str:
        """The manifest as a fresh TOML text: what :meth:`save` writes for a new zoo, and what the app offers for
        download (an existing file is edited in place instead, so its comments stay there)."""
        import tomli_w

        return tomli_w.dumps(self.to_data())

    def manifest(self) -> Manifest:
        """The parsed manifest (raises :class:`ManifestError` while the zoo has no models)."""
        return parse_manifest(self.to_data(), self.path)

    def save(self) -> Path:
        """Check and write the manifest atomically to :attr:`path`; returns it. An existing manifest is edited in
        place (:func:`gifviz.hub.toml_edit.edited_toml`): its comments and the layout of what did not change stay. A
        file that changed since this zoo read it (another tab, another command) is refused, not overwritten."""
        self._check(self.models)
        try:
            with self.path.open(encoding="utf-8", newline="") as file:
                written: str | None = file.read()
        except FileNotFoundError:
            written = None
        except (OSError, UnicodeDecodeError) as error:
            raise WorkingZooError(f"{self.path} cannot be read to edit it ({error}); fix or remove it") from None
        if written != self._read:
            gone = " (it is gone)" if written is None else ""
            raise WorkingZooError(f"{self.path} was changed since it was opened{gone}; open it again and redo the edit")
        text = self.to_toml() if written is None else self._edited(written)
        saved = write_file(self.path, text)
        self._read, self._as_saved = text, {model_id: model_id for model_id in self.ids}
        return saved

    def _edited(self, written: str) -> str:
        """``written`` (the manifest as this zoo read it) edited to hold this zoo."""
        data = self.to_data()
        as_written = tomllib.loads(written)  # it parsed when this zoo read it
        # a references folder written relative to the manifest stays so while it names the same folder, and so does
        # an input table that says the same space in other words (no range: the default one)
        references = as_written.get("references")
        if (
            isinstance(references, str)
            and "references" in data
            and (self.path.parent / references).resolve() == (self.path.parent / data["references"]).resolve()
        ):
            data["references"] = references
        if parse_space(as_written.get("input"), str(self.path)) == self.space:
            data["input"] = as_written["input"]
        try:
            return edited_toml(written, data, [self._as_saved.get(model_id) for model_id in self.ids])
        except ManifestError as error:
            raise WorkingZooError(f"{self.path}: {error}") from None
