"""Cached resources of the app: the settings, the zoo, the store, the references and the fields.

Models and zoos are cached with ``st.cache_resource``; fields live in the field store, so reruns and other tabs never
recompute them. Distance matrices are in :mod:`gifviz.app.matrices`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import streamlit as st

from gifviz.app.settings import DEFAULT_FAMILY, AppSettings
from gifviz.errors import ConfigError, GifvizError
from gifviz.field.result import Field
from gifviz.hub.zoo import Zoo
from gifviz.jobs import RunSummary, store_fields
from gifviz.refs import ReferenceSet, load_reference_folder
from gifviz.store import FieldStore, StoreUnavailable


@st.cache_resource(show_spinner="Opening the zoo ...")
def open_zoo(manifest: str) -> Zoo:
    return Zoo.open(manifest)


@st.cache_resource
def open_store(cache_dir: str | None) -> FieldStore | None:
    """The field store; ``None`` (and a warning on the page) when its folder cannot be used."""
    try:
        return FieldStore(cache_dir, notify=st.warning)
    except (StoreUnavailable, ConfigError) as error:  # ConfigError: a cache limit that is not a positive size
        st.warning(str(error))
        return None


@st.cache_resource(show_spinner="Reading reference images ...")
def open_references(manifest: str, refs: str | None, n_refs: int) -> ReferenceSet:
    zoo = open_zoo(manifest)
    folder = refs or zoo.manifest.references
    if folder is None:
        raise GifvizError("this zoo names no reference images: choose a folder on the Settings page")
    return load_reference_folder(folder, zoo.space, n_refs)


def settings() -> AppSettings:
    """The current settings. The URL holds them (a reload or a shared link restores them); page navigation clears
    the URL, so the session keeps a copy and writes it back."""
    query = st.query_params.to_dict()
    if query:
        current = AppSettings.from_query(query)
    else:
        current = st.session_state.get("gifviz_settings", AppSettings())
        if current.to_query():
            st.query_params.update(current.to_query())
    st.session_state["gifviz_settings"] = current
    return current


def save_settings(new: AppSettings) -> None:
    """Make ``new`` the current settings, in the URL and the session."""
    st.session_state["gifviz_settings"] = new
    st.query_params.clear()
    st.query_params.update(new.to_query())


def working_set(current: AppSettings, zoo: Zoo) -> list[str]:
    """The selected models, or by default the built-in zoo's lineage family (else every model)."""
    if current.models:
        return [model_id for model_id in current.models if model_id in zoo.ids]
    family = [spec.id for spec in zoo.specs if spec.extra.get("family") == DEFAULT_FAMILY]
    return family or list(zoo.ids)


class StreamlitProgress:
    """A :class:`gifviz.pipeline.ZooProgress` drawn as one progress bar: models done, points/s and an ETA."""

    def __init__(self, total_models: int) -> None:
        self.bar = st.progress(0.0, text="starting ...")
        self.total_models = max(total_models, 1)
        self.started = time.perf_counter()
        self.points = 0
        self.position = 0
        self.model_points = 0

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None:
        self.position, self.model_id, self.model_points = position, model_id, 0
        self.total_models = count

    def advance(self, points_done: int, total_points: int) -> None:
        self.points += points_done - self.model_points
        self.model_points = points_done
        done = self.position + points_done / max(total_points, 1)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / done * (self.total_models - done) if done else 0.0
        self.bar.progress(
            min(done / self.total_models, 1.0),
            text=f"{self.model_id}: model {self.position + 1} of {self.total_models}, "
            f"{self.points / max(elapsed, 1e-9):,.0f} points/s, about {eta:,.0f} s left",
        )

    def finish(self, model_id: str) -> None:
        self.bar.progress(min((self.position + 1) / self.total_models, 1.0), text=f"{model_id} done")

    def method(self, name: str) -> None:
        """A testbed moves on to the next method (peers report no per-model steps)."""
        self.position, self.model_points = 0, 0
        self.bar.progress(0.0, text=f"running {name} ...")


def fields(current: AppSettings, ids: Sequence[str], show_progress: bool = True) -> dict[str, Field]:
    """Fields of ``ids`` under the current settings: from the store, computing (with progress) only what is missing.

    A click anywhere while this runs stops it (Streamlit reruns the page); finished fields stay in the store.
    """
    zoo = open_zoo(current.manifest)
    references = open_references(current.manifest, current.refs, current.n_refs)
    progress = StreamlitProgress(len(ids)) if show_progress else None
    summary = RunSummary()
    result = store_fields(
        zoo,
        references,
        current.field_config(),
        list(ids),
        open_store(current.cache_dir),
        progress=progress,
        summary=summary,
    )
    if progress is not None:
        progress.bar.empty()
    return result


def field_keys(current: AppSettings, ids: Sequence[str]) -> tuple[str, ...] | None:
    """Store keys of the fields of ``ids`` under the current settings (``None`` without a store)."""
    store = open_store(current.cache_dir)
    if store is None:
        return None
    zoo = open_zoo(current.manifest)
    config = current.field_config()
    refs_digest = open_references(current.manifest, current.refs, current.n_refs).field_digest(config)
    return tuple(store.key_for(zoo.load(i).digest, refs_digest, config) for i in ids)


def missing(current: AppSettings, ids: Sequence[str]) -> list[str]:
    """Models of ``ids`` whose field is not in the store yet."""
    keys = field_keys(current, ids)
    if keys is None:
        return list(ids)
    store = open_store(current.cache_dir)
    return [model_id for model_id, key in zip(ids, keys, strict=True) if not store.contains(key)]


@dataclasses.dataclass(frozen=True)
class PageInputs:
    """What most pages start from: the zoo, its working set, and (when asked for) the references."""

    zoo: Zoo
    ids: list[str]
    references: ReferenceSet | None = None


def page_inputs(current: AppSettings, *, with_references: bool = False) -> PageInputs:
    """Open what a page needs; a user error is shown with ``st.error`` and the page stops (the app keeps running)."""
    try:
        zoo = open_zoo(current.manifest)
        ids = working_set(current, zoo)
        refs = open_references(current.manifest, current.refs, current.n_refs) if with_references else None
        return PageInputs(zoo, ids, refs)
    except GifvizError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() does not return; this keeps type checkers honest
