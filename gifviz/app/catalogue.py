"""What the "Add models" page does: search the model catalogue a page at a time, build this visitor's working zoo
from picked rows, edit it, choose its input space and reference images, and hand it to the rest of the app.

The search itself (filtering every registry, checking one page of rows against the caches) is the library's
:func:`gifviz.hub.catalogue.search_catalogue`; this module caches a page per query, turns rows into table rows, and
keeps every path a visitor types inside the operator's allowed roots. Each function either returns what the page
shows or raises one :class:`~gifviz.errors.GifvizError` the page shows as one line; nothing here half-changes a
working zoo (:class:`~gifviz.hub.working_zoo.WorkingZoo` checks every edit before applying it).
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from gifviz.app import reference_uploads
from gifviz.app.serving import ServingPolicy, shorten
from gifviz.app.settings import AppSettings
from gifviz.errors import GifvizError
from gifviz.hub.catalogue import CatalogueError, CataloguePage, CatalogueRow, search_catalogue
from gifviz.hub.working_zoo import WorkingZoo, WorkingZooError, parse_space_text
from gifviz.refs import image_files

PAGE_SIZE = 20  # rows drawn per page: a search over ~3,500 entries renders only these
DEFAULT_SPACE = "3x224x224"  # ImageNet's models, the usual pick, when the first pick's own size is unknown
SOURCE_LABELS = {"torchvision": "torchvision", "timm": "timm", "hf": "Hugging Face cache", "folder": "a folder"}
DEFAULT_SOURCES = ("torchvision", "timm", "hf")
ZOO_KEY = "catalogue_zoo"  # session state: the path of this visitor's working zoo
PAGE_KEY = "catalogue_page"  # session state: (search key, page number)
SEARCH_SECONDS = 300  # a cached page is redone after this long: a model fetched meanwhile then shows as offline
# Environment variables that move the caches a row's "offline" is checked against: part of the cached search's key.
CACHE_VARIABLES = ("HF_HUB_CACHE", "HF_HOME", "HF_HUB_OFFLINE", "TORCH_HOME", "XDG_CACHE_HOME")
# Members of an uploaded zip that are never references: folders, macOS resource forks, hidden files.


class CatalogueSearchError(CatalogueError):
    """A search the page cannot run or that found nothing: an empty query, no source, no match."""


# --- searching -----------------------------------------------------------------------------------------------------


def search_key(query: str, origins: Sequence[str], folder: str, offline_only: bool) -> str:
    """What identifies a search, so the page number restarts at 1 when any part of it changes."""
    return repr((" ".join(query.lower().split()), tuple(origins), folder.strip(), offline_only))


def page_number(state: MutableMapping[str, Any], key: str) -> int:
    """The 0-based page of search ``key`` kept in ``state`` (0 for a new search)."""
    stored = state.get(PAGE_KEY)
    return stored[1] if isinstance(stored, tuple) and stored[0] == key else 0


def turn_page(state: MutableMapping[str, Any], key: str, page: CataloguePage, step: int) -> None:
    """Move search ``key`` ``step`` pages on (negative: back), staying within ``page``'s matches."""
    last = max((page.total - 1) // page.limit, 0)
    state[PAGE_KEY] = (key, min(max(page.offset // page.limit + step, 0), last))


def search(
    query: str,
    origins: Sequence[str],
    folder: str,
    number: int,
    policy: ServingPolicy,
    offline_only: bool = False,
) -> CataloguePage:
    """Page ``number`` (0-based, ``PAGE_SIZE`` rows) of the catalogue rows matching every word of ``query``.

    ``folder`` (searched when ``origins`` holds ``folder``) is a path on the server, so it must lie inside the
    operator's allowed roots. Raises :class:`CatalogueSearchError` for an empty query, no source, or no match (with
    close names), :class:`ServingRefused` for a folder outside the roots, :class:`CatalogueError` for a folder that
    cannot be read.
    """
    if not query.split():
        raise CatalogueSearchError("type part of a model's name to search, e.g. resnet18, vit small or org/repo")
    if not origins:
        raise CatalogueSearchError(f"choose at least one source to search ({', '.join(SOURCE_LABELS.values())})")
    confined = None
    if "folder" in origins:
        if not folder.strip():
            raise CatalogueSearchError("name the folder of model files to search, or untick 'a folder'")
        confined = str(policy.confine(folder.strip(), "model folder"))
    environment = tuple(os.environ.get(name, "") for name in CACHE_VARIABLES)
    page = _cached_search(query, tuple(origins), confined, number * PAGE_SIZE, offline_only, environment)
    if page.total and not page.rows:  # the page asked for is past the end (the matches shrank): show the last one
        last = (page.total - 1) // PAGE_SIZE
        page = _cached_search(query, tuple(origins), confined, last * PAGE_SIZE, offline_only, environment)
    if not page.total:
        close = close_names(query, origins)
        hint = f"did you mean {', '.join(close)}?" if close else "try fewer or shorter words"
        where = ", ".join(SOURCE_LABELS[origin] for origin in origins)
        loads = " that loads offline" if offline_only else ""
        raise CatalogueSearchError(f"no model{loads} matches {shorten(query.strip(), 60)} in {where}; {hint}")
    return page


@st.cache_data(show_spinner="Searching the catalogue ...", ttl=SEARCH_SECONDS, max_entries=256)
def _cached_search(
    query: str,
    origins: tuple[str, ...],
    folder: str | None,
    offset: int,
    offline_only: bool,
    environment: tuple[str, ...],
) -> CataloguePage:
    # ``environment`` only keys the cache: a test or server that moves a model cache gets fresh offline checks.
    return search_catalogue(query, origins, folder, offset, PAGE_SIZE, offline_only)


@functools.cache
def _registry_names(origin: str) -> tuple[str, ...]:
    if origin == "torchvision":
        import torchvision

        return tuple(torchvision.models.list_models())
    if origin == "timm":
        from gifviz.hub.timm_models import timm_registry

        archs, pretrained = timm_registry()
        return (*archs, *pretrained)
    return ()


def close_names(query: str, origins: Sequence[str], count: int = 5) -> list[str]:
    """Registry names (torchvision, timm) close to ``query``'s longest word, for a search that found nothing."""
    words = query.lower().split()
    if not words:
        return []
    names = [name for origin in origins for name in _registry_names(origin)]
    return difflib.get_close_matches(max(words, key=len), names, n=count, cutoff=0.6)


def entry_key(source: str, options: dict[str, Any]) -> str:
    """What makes two zoo entries the same model: the source, and random init or not."""
    return source + (" (random init)" if options.get("pretrained") is False else "")


def zoo_keys(zoo: WorkingZoo | None) -> dict[str, str]:
    """Entry key -> model id, for every model of ``zoo`` that came from a source."""
    if zoo is None:
        return {}
    return {entry_key(str(entry["source"]), entry): entry["id"] for entry in zoo.models if "source" in entry}


def results_table(page: CataloguePage, zoo: WorkingZoo | None) -> list[dict[str, str]]:
    """One table row per catalogue row of ``page``: what it is, where from, whether it loads offline and why, and
    its id when it is already in the working zoo."""
    taken = zoo_keys(zoo)
    return [
        {
            "model": row.title,
            "offline": "yes" if row.offline else "no",
            "in your zoo": taken.get(entry_key(row.source, row.options), ""),
            "why": row.why,
            "source": row.source,
            "from": row.origin,
        }
        for row in page.rows
    ]


def table_height(rows: int) -> int:
    """Pixels that show ``rows`` table rows and the header without a scroll bar (Streamlit's rows are 35 px)."""
    return 35 * (rows + 1) + 3


def page_caption(page: CataloguePage) -> str:
    """``"41 matches (torchvision 12, timm 29) · page 1 of 3"``."""
    counts = ", ".join(f"{origin} {count}" for origin, count in page.by_origin.items())
    pages = max((page.total - 1) // page.limit + 1, 1)
    return f"{page.total} matches ({counts}) · page {page.offset // page.limit + 1} of {pages}"


# --- the input space -----------------------------------------------------------------------------------------------


def suggested_space(row: CatalogueRow | None) -> str:
    """``CxHxW`` the model of ``row`` takes as its own input (its preprocess's size), else ``DEFAULT_SPACE``.

    Only configurations are read (timm's pretrained config, torchvision's weights transforms, a cached repo's
    ``config.json``); no model is built and nothing is downloaded.
    """
    if row is None:
        return DEFAULT_SPACE
    try:
        size = _input_size(row.source)
    except Exception:  # a config of a shape this does not know: the default is a fine suggestion
        size = None
    return "x".join(str(int(v)) for v in size) if size else DEFAULT_SPACE


def _input_size(source: str) -> tuple[int, int, int] | None:
    scheme, _, body = source.partition(":")
    if scheme == "timm":
        from timm.models import get_pretrained_cfg

        found = get_pretrained_cfg(body)
        return tuple(found.input_size) if found is not None else None  # type: ignore[return-value]
    if scheme == "torchvision" and "@" in body:
        import torchvision

        name, _, weights = body.partition("@")
        crop = torchvision.models.get_model_weights(name)[weights].transforms().crop_size
        return (3, crop[0], crop[-1])
    if scheme == "hf":
        import json

        from gifviz.hub.hf import CONFIG_FILE, cached_file, parse_hf

        repo_id, revision = parse_hf(source)
        path = cached_file(repo_id, CONFIG_FILE, revision)
        config = json.loads(path.read_text(encoding="utf-8")) if path else {}
        size = (config.get("pretrained_cfg") or {}).get("input_size")
        return tuple(size) if size and len(size) == 3 else None  # type: ignore[return-value]
    return None


# --- the working zoo -----------------------------------------------------------------------------------------------


def create_zoo(folder: Path, name: str, space: str) -> WorkingZoo:
    """A new working zoo ``<folder>/<name>.toml`` on ``space`` (``CxHxW``) with the built-in references; a
    manifest of that name is never replaced."""
    return WorkingZoo.create(folder, name, parse_space_text(space), reference_uploads.builtin_references())


def current_zoo(state: MutableMapping[str, Any], folder: Path, current: AppSettings) -> WorkingZoo | None:
    """This visitor's working zoo: the one this session built, else the app's zoo when it lies in the visitor's
    folder (a zoo opened in the app stays editable here); ``None`` when there is neither."""
    path = state.get(ZOO_KEY)
    if path is None and Path(current.manifest).resolve().parent == folder.resolve():
        path = current.manifest
    if path is None or not Path(path).is_file():
        return None
    zoo = WorkingZoo.open(path)
    state[ZOO_KEY] = str(zoo.path)
    return zoo


def add_rows(zoo: WorkingZoo, rows: Sequence[CatalogueRow]) -> list[tuple[str, str]]:
    """Add ``rows`` to ``zoo`` and save it; returns ``(level, message)`` pairs for the page (``success``,
    ``warning``, ``error``): one per model already there, per model that will not load offline, per refused row."""
    messages: list[tuple[str, str]] = []
    added = []
    for row in rows:
        taken = zoo_keys(zoo).get(entry_key(row.source, row.options))
        if taken is not None:
            messages.append(("warning", f"{row.source} is already in your working zoo as {taken!r}; not added again"))
            continue
        try:
            model_id = zoo.add(row)
        except WorkingZooError as error:
            messages.append(("error", str(error)))
            continue
        added.append(model_id)
        if not row.offline:
            messages.append(("warning", f"added {model_id!r}, but it will not load on this machine offline: {row.why}"))
    if added:
        zoo.save()
        messages.insert(0, ("success", f"added {', '.join(added)} to {zoo.path.name}"))
    return messages


def add_picks(
    state: MutableMapping[str, Any],
    folder: Path,
    zoo: WorkingZoo | None,
    name: str,
    space: str,
    rows: Sequence[CatalogueRow],
) -> WorkingZoo | None:
    """Add picked ``rows`` to the visitor's working zoo, creating it first (``name``, ``space``) when there is none
    yet; the outcome is kept in ``state`` as messages for the rerun. Returns the working zoo (``None`` when it could
    not be created: a name that is taken, a space that is not ``CxHxW``)."""
    try:
        if zoo is None:
            zoo = create_zoo(folder, name, space)
            state[ZOO_KEY] = str(zoo.path)
        flash(state, add_rows(zoo, rows))
    except GifvizError as error:
        flash(state, [("error", str(error))])
    return zoo


def zoo_table(zoo: WorkingZoo) -> list[dict[str, str]]:
    """One row per model of ``zoo``: id, source, parent, relation and tags."""
    return [
        {
            "id": entry["id"],
            "source": str(entry.get("source", entry.get("file", ""))),
            "parent": str(entry.get("parent", "")),
            "relation": str(entry.get("relation", "")),
            "tags": ", ".join(f"{key}={value}" for key, value in entry.get("tags", {}).items()),
        }
        for entry in zoo.models
    ]


EDITS = ("rename", "tag", "parent", "remove")


def edit_zoo(zoo: WorkingZoo, action: str, model_id: str, text: str = "", relation: str = "") -> str:
    """Apply one edit to ``model_id`` and save; returns what was done.

    ``rename``: ``text`` is the new id. ``tag``: ``text`` is ``key=value`` (``key=`` removes the tag). ``parent``:
    ``text`` is the parent's id (empty: no parent) and ``relation`` how the model derives from it. ``remove``.
    Raises :class:`WorkingZooError` (the zoo unchanged) for an edit that cannot be made.
    """
    text = text.strip()
    if action == "rename":
        zoo.rename(model_id, text)
        done = f"renamed {model_id!r} to {text!r}"
    elif action == "tag":
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            raise WorkingZooError(f"model {model_id!r}: write a tag as key=value, e.g. data=imagenet (key= removes)")
        zoo.tag(model_id, key.strip(), value.strip() or None)
        done = f"tagged {model_id!r} {key.strip()}={value.strip()}" if value.strip() else f"untagged {key.strip()!r}"
    elif action == "parent":
        zoo.set_parent(model_id, text or None, relation.strip() or None)
        done = f"{model_id!r} derives from {text!r}" if text else f"{model_id!r} has no parent now"
    elif action == "remove":
        zoo.remove(model_id)
        done = f"removed {model_id!r}"
    else:
        raise WorkingZooError(f"unknown edit {action!r}; choose one of {', '.join(EDITS)}")
    zoo.save()
    return done


def set_space(zoo: WorkingZoo, text: str) -> str:
    """Compare the zoo's models on ``text`` (``CxHxW``) from now on; saved."""
    zoo.space = parse_space_text(text)
    zoo.save()
    return f"input space {'x'.join(map(str, zoo.space.shape))}"


def open_in_app(zoo: WorkingZoo, current: AppSettings) -> AppSettings:
    """The settings that make every page show ``zoo`` (its whole model list as the working set), with N lowered to
    the images its references hold (eight uploaded images must not meet a default N of 128 on the next page)."""
    if not zoo.models:
        raise WorkingZooError("your working zoo has no models yet; add some before opening it in the app")
    zoo.save()
    count = len(image_files(zoo.path.parent / zoo.references)) if zoo.references else 0  # relative: to the manifest
    n_refs = min(current.n_refs, count) if count else current.n_refs
    return current.replace(manifest=str(zoo.path), models=(), refs=None, n_refs=n_refs)


# --- reference images ----------------------------------------------------------------------------------------------


def flash(state: MutableMapping[str, Any], messages: Sequence[tuple[str, str]]) -> None:
    """Keep ``(level, message)`` pairs to show after the page reruns."""
    state["catalogue_messages"] = list(messages)


def show_messages(state: MutableMapping[str, Any]) -> None:
    """Show (once) the messages :func:`flash` kept, each with its level's Streamlit element."""
    for level, message in state.pop("catalogue_messages", []):
        getattr(st, level)(message)


def run_action(state: MutableMapping[str, Any], action: Callable[..., object], *args: Any) -> bool:
    """Run ``action(*args)``; its message (or the user error it raised) is kept for the rerun. True when it worked."""
    try:
        result = action(*args)
    except GifvizError as error:
        flash(state, [("error", str(error))])
        return False
    flash(state, result if isinstance(result, list) else [("success", str(result))])
    return True
