"""A searchable catalogue of models a zoo can hold: torchvision's and timm's registries, the repos in the local
Hugging Face cache, and the model files of a folder.

Each row carries the manifest source that loads it and whether its weights are available offline (and why), so a
user (the app's "Add models", ``gifviz hub search``) can pick models without typing a manifest. Filtering happens
here, not in the caller: the registries are listed once per process (timm's ~3,000 names take milliseconds after the
import), a search matches every word of the query against each row's source and title, and only the requested page's
rows are checked against the caches (a few file lookups each).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from gifviz.errors import GifvizError

ORIGINS = ("torchvision", "timm", "hf", "folder")  # the ``sources`` a search can name, in the order rows are listed
MODEL_SUFFIXES = (".pt", ".pth", ".pt2", ".safetensors", ".jit", ".ts", ".torchscript")
FOLDER_LIMIT = 10_000  # files a folder scan looks at, so a search in a huge tree stays interactive


class CatalogueError(GifvizError):
    """A catalogue search was asked for an unknown source or a folder that cannot be read."""


@dataclasses.dataclass(frozen=True)
class CatalogueRow:
    """One model a zoo can hold.

    Attributes:
        source: the manifest ``source`` that loads it (``timm:resnet18.a1_in1k``, ``file:/abs/model.pt``, ...).
        title: what it is, for people (name, weights, accuracy or input size when known).
        origin: where it was found: ``torchvision``, ``timm``, ``hf-cache`` or ``folder``.
        offline: whether it loads on this machine without a network.
        why: why it does or does not (the cached file, or the command that fetches it).
        options: further keys its manifest entry needs (``{"pretrained": False}`` for a random-init timm model).
    """

    source: str
    title: str
    origin: str
    offline: bool = True
    why: str = ""
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def manifest_entry(self, model_id: str) -> dict[str, Any]:
        """The ``[[models]]`` entry that adds this row to a zoo as ``model_id``."""
        return {"id": model_id, "source": self.source, **self.options}


@dataclasses.dataclass(frozen=True)
class CataloguePage:
    """One page of a search.

    Attributes:
        rows: the page's rows, in listing order.
        total: rows matching the query over all pages.
        offset, limit: where the page starts and its largest size.
        by_origin: matching rows per origin (``torchvision``, ``timm``, ``hf-cache``, ``folder``).
    """

    rows: tuple[CatalogueRow, ...]
    total: int
    offset: int
    limit: int
    by_origin: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A row before its offline check: ``check()`` gives (offline, why); run only for rows that are shown."""

    source: str
    title: str
    origin: str
    check: Callable[[], tuple[bool, str]]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def row(self) -> CatalogueRow:
        offline, why = self.check()
        return CatalogueRow(self.source, self.title, self.origin, offline, why, dict(self.options))


def _always(why: str) -> Callable[[], tuple[bool, str]]:
    return lambda: (True, why)


# --- torchvision ---------------------------------------------------------------------------------------------------


@functools.cache
def _torchvision_entries() -> tuple[tuple[str, str, str | None], ...]:
    """(source, title, weights file name or None for random init), every registry name and weights enum member."""
    import torchvision

    entries = []
    for name in torchvision.models.list_models():
        try:
            members = list(torchvision.models.get_model_weights(name))
        except (ValueError, KeyError):  # a builder without a weights enum
            members = []
        for weights in members:
            meta = weights.meta
            accuracy = (meta.get("_metrics", {}).get("ImageNet-1K") or {}).get("acc@1")
            facts = [f"{meta['num_params'] / 1e6:.1f}M params"] if meta.get("num_params") else []
            facts += [f"ImageNet acc@1 {accuracy}"] if accuracy is not None else []
            title = f"{name} {weights.name}" + (f" ({', '.join(facts)})" if facts else "")
            entries.append((f"torchvision:{name}@{weights.name}", title, Path(weights.url).name))
        entries.append((f"torchvision:{name}", f"{name} (random init)", None))
    return tuple(entries)


def _torchvision_check(file_name: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        import torch

        path = Path(torch.hub.get_dir()) / "checkpoints" / file_name
        if path.is_file():
            return True, f"cached: {path}"
        return False, f"not cached: torchvision downloads {file_name} into {path.parent} on first load"

    return check


def _torchvision_candidates() -> list[_Candidate]:
    return [
        _Candidate(source, title, "torchvision", _torchvision_check(file) if file else _always("random init"))
        for source, title, file in _torchvision_entries()
    ]


# --- timm ----------------------------------------------------------------------------------------------------------


def _timm_check(name: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        from timm.models import get_pretrained_cfg

        from gifviz.errors import ModelLoadError
        from gifviz.hub.hf import cached_file, fetch_command
        from gifviz.hub.timm_models import weights_location

        found = get_pretrained_cfg(name)
        try:
            repo_id, revision, filename = weights_location(found.to_dict() if found else {}, name, "catalogue")
        except ModelLoadError as error:
            return False, str(error).split(": ", 1)[-1]
        path = cached_file(repo_id, filename, revision)
        if path is not None:
            return True, f"cached: {filename} of hf:{repo_id}"
        return False, f"not cached: `{fetch_command(repo_id, revision)}` on a machine with a network"

    return check


@functools.cache
def _timm_candidates() -> tuple[_Candidate, ...]:
    from gifviz.hub.timm_models import timm_registry

    archs, pretrained = timm_registry()
    rows = [_Candidate(f"timm:{name}", f"{name} (timm, pretrained)", "timm", _timm_check(name)) for name in pretrained]
    rows += [
        _Candidate(f"timm:{arch}", f"{arch} (timm, random init)", "timm", _always("random init"), {"pretrained": False})
        for arch in archs
    ]
    return tuple(rows)


# --- the Hugging Face cache ----------------------------------------------------------------------------------------


def _hf_title(repo_id: str, snapshot: Path, files: set[str]) -> tuple[str, bool, str]:
    """(title, offline, why) of one cached revision, from the files it holds."""
    from gifviz.hub.hf import CONFIG_FILE, WEIGHTS_FILE

    if WEIGHTS_FILE not in files:
        return repo_id, False, f"no {WEIGHTS_FILE} cached (gifviz reads safetensors only): `hf download {repo_id}`"
    architecture = None
    if CONFIG_FILE in files:
        try:
            config = json.loads((snapshot / CONFIG_FILE).read_text(encoding="utf-8"))
            architecture = config.get("architecture") if isinstance(config, dict) else None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            architecture = None
    if architecture:
        return f"{repo_id} (timm {architecture})", True, f"cached: {CONFIG_FILE} and {WEIGHTS_FILE}"
    return f"{repo_id} (weights only)", True, f'cached {WEIGHTS_FILE}; its entry needs arch = "<name>"'


def _hf_candidates() -> list[_Candidate]:
    """The model repos of the local Hugging Face cache, one row per cached revision (``main`` as the bare repo)."""
    from huggingface_hub import CacheNotFound, scan_cache_dir

    from gifviz.hub.hf import hub_cache_dir

    try:
        info = scan_cache_dir(hub_cache_dir())
    except (CacheNotFound, OSError):
        return []
    rows = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for revision in sorted(repo.revisions, key=lambda r: ("main" not in r.refs, r.commit_hash)):
            files = {file.file_name for file in revision.files}
            title, offline, why = _hf_title(repo.repo_id, Path(revision.snapshot_path), files)
            suffix = "" if "main" in revision.refs else f"@{revision.commit_hash}"
            rows.append(_Candidate(f"hf:{repo.repo_id}{suffix}", title, "hf-cache", lambda o=offline, w=why: (o, w)))
    return rows


# --- a folder of model files ---------------------------------------------------------------------------------------


def _folder_candidates(folder: str | Path) -> list[_Candidate]:
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise CatalogueError(f"folder {root} does not exist or is not a folder; name a folder that holds model files")
    rows = []
    try:
        paths = sorted(path for _, path in zip(range(FOLDER_LIMIT), root.rglob("*"), strict=False))
    except OSError as error:
        raise CatalogueError(f"folder {root} cannot be read ({error.strerror or error})") from None
    for path in paths:
        if path.suffix.lower() not in MODEL_SUFFIXES or not path.is_file():
            continue
        resolved = path.resolve()
        weights_only = path.suffix.lower() == ".safetensors"
        why = "local file" + ('; its entry needs arch = "<name>"' if weights_only else "")
        title = f"{path.relative_to(root)} ({path.stat().st_size / 1e6:.1f} MB)"
        rows.append(_Candidate(f"file:{resolved}", title, "folder", _always(why)))
    return rows


# --- search --------------------------------------------------------------------------------------------------------


def _matches(candidate: _Candidate, words: Sequence[str]) -> bool:
    text = f"{candidate.source} {candidate.title}".lower()
    return all(word in text for word in words)


def _rank(candidate: _Candidate, words: Sequence[str]) -> int:
    """0 when the model's name starts with the first word (``resnet18`` before ``cspresnet18``), else 1."""
    if not words:
        return 0
    name = candidate.source.split(":", 1)[1].rsplit("/", 1)[-1].lower()
    return 0 if name.startswith(words[0]) else 1


def _candidates(sources: Iterable[str], folder: str | Path | None) -> list[_Candidate]:
    chosen = list(dict.fromkeys(sources))
    unknown = [source for source in chosen if source not in ORIGINS]
    if unknown:
        raise CatalogueError(f"unknown catalogue source(s) {', '.join(unknown)}; choose from {', '.join(ORIGINS)}")
    listers: dict[str, Callable[[], Iterable[_Candidate]]] = {
        "torchvision": _torchvision_candidates,
        "timm": _timm_candidates,
        "hf": _hf_candidates,
        "folder": lambda: _folder_candidates(folder) if folder is not None else [],
    }
    return [candidate for origin in ORIGINS if origin in chosen for candidate in listers[origin]()]


def search_catalogue(
    query: str = "",
    sources: Iterable[str] = ORIGINS,
    folder: str | Path | None = None,
    offset: int = 0,
    limit: int = 50,
    offline_only: bool = False,
) -> CataloguePage:
    """Rows whose source and title contain every word of ``query`` (case-insensitive), one page of them.

    ``sources`` picks among ``torchvision``, ``timm``, ``hf`` (the local Hugging Face cache) and ``folder`` (model
    files under ``folder``, searched only when a folder is given). Rows whose name starts with the query's first word
    come first, then the others, each in registry order. ``offline_only`` keeps only rows that load without a
    network (it checks every match, not just one page). Raises :class:`CatalogueError` for an unknown source or an
    unreadable folder.
    """
    if offset < 0 or limit < 1:
        raise CatalogueError(f"a catalogue page needs offset >= 0 and limit >= 1; got offset={offset}, limit={limit}")
    words = query.lower().split()
    found = [candidate for candidate in _candidates(sources, folder) if _matches(candidate, words)]
    found.sort(key=lambda candidate: _rank(candidate, words))  # stable: registry order within each rank
    if offline_only:
        rows = [row for row in (candidate.row() for candidate in found) if row.offline]
        by_origin = _count(row.origin for row in rows)
        return CataloguePage(tuple(rows[offset : offset + limit]), len(rows), offset, limit, by_origin)
    page = tuple(candidate.row() for candidate in found[offset : offset + limit])
    return CataloguePage(page, len(found), offset, limit, _count(candidate.origin for candidate in found))


def _count(origins: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for origin in origins:
        counts[origin] = counts.get(origin, 0) + 1
    return counts
