"""Cached resources of the app: the settings, the zoo, the store, the references and the fields.

Models and zoos are cached with ``st.cache_resource``; fields live in the field store, so reruns and other tabs never
recompute them. Distance matrices are in :mod:`gifviz.app.matrices`.

Everything a visitor's address or upload names passes the operator's :class:`~gifviz.app.serving.ServingPolicy`
here, on the way in: paths are confined to the allowed roots, code-running sources refused, computing capped.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import streamlit as st

from gifviz.app import uploads
from gifviz.app.serving import ServingPolicy, shorten
from gifviz.app.settings import DEFAULT_FAMILY, AppSettings, builtin_manifest, read_query
from gifviz.bench.costs import FIELD_SECONDS_PER_POINT, method_costs
from gifviz.errors import Cancelled, ConfigError, GifvizError, ManifestError
from gifviz.field.result import Field
from gifviz.hub.zoo import Zoo
from gifviz.jobs import RunSummary, store_fields
from gifviz.refs import ReferenceSet, load_reference_folder
from gifviz.store import FieldStore, StoreUnavailable, default_home

# Zoos kept open at once: each holds its loaded models, and every visitor who uploads gets a zoo of their own.
ZOOS_KEPT = 32
# What the strict fallback policy still reads from the environment: where the built-in zoo and the store are.
STRICT_KEEPS = ("GIFVIZ_HOME", "GIFVIZ_BUILTIN_ZOO")


def _policy() -> tuple[ServingPolicy, str | None]:
    """The operator's policy, and the problem with it (``None`` when it reads). A setting the policy cannot use
    is not a visitor's fault and must not open the server up: the strict defaults are served instead."""
    try:
        return ServingPolicy.from_environment(), None
    except ConfigError as error:
        strict = ServingPolicy.from_environment({k: v for k, v in os.environ.items() if k in STRICT_KEEPS})
        return strict, f"{error}. Until the server's operator fixes it, this server applies its default limits."


def serving_policy() -> ServingPolicy:
    """The operator's :class:`ServingPolicy` (read on every call: it is a few environment variables)."""
    return _policy()[0]


def open_zoo(manifest: str) -> Zoo:
    """The zoo of ``manifest``, which must lie inside the allowed roots and hold no code-running source (unless the
    operator allows them); otherwise one :class:`~gifviz.errors.GifvizError` naming the manifest or the model.

    Cached by the file's path and modification stamp, so a manifest rewritten in place (a working zoo being edited)
    is read again.
    """
    policy = serving_policy()
    path, stamp = _stamped(policy, manifest)
    zoo = _open_zoo(str(path), stamp)
    policy.refuse_code(zoo.specs, f"manifest {shorten(manifest)}")
    return zoo


def _stamped(policy: ServingPolicy, manifest: str) -> tuple[Path, tuple[int, int]]:
    """The confined manifest path and its (modification time, size), the key of everything cached from it."""
    path = policy.confine(manifest, "manifest")
    try:
        stat = path.stat()
    except OSError:
        raise ManifestError(f"manifest {shorten(manifest)} does not exist; open an existing .toml file") from None
    return path, (stat.st_mtime_ns, stat.st_size)


@st.cache_resource(show_spinner="Opening the zoo ...", max_entries=ZOOS_KEPT)
def _open_zoo(path: str, stamp: tuple[int, int]) -> Zoo:
    return Zoo.open(path)


def open_store() -> FieldStore | None:
    """The field store at ``$GIFVIZ_HOME`` (the operator's choice; nothing in the address moves it); ``None`` (and a
    warning on the page) when its folder cannot be used."""
    return _store_at(str(default_home()))


@st.cache_resource
def _store_at(home: str) -> FieldStore | None:
    # Keyed by the folder: a server (or a test) that changes GIFVIZ_HOME gets the store it names.
    try:
        return FieldStore(home, notify=st.warning)
    except (StoreUnavailable, ConfigError) as error:  # ConfigError: a cache limit that is not a positive size
        st.warning(str(error))
        return None


def open_references(manifest: str, refs: str | None, n_refs: int) -> ReferenceSet:
    """``n_refs`` reference images from ``refs`` (confined to the allowed roots) or the manifest's own folder."""
    policy = serving_policy()
    policy.check_cap("n_refs", n_refs)
    folder = str(policy.confine(refs, "refs")) if refs else None
    zoo = open_zoo(manifest)
    path, stamp = _stamped(policy, manifest)
    return _read_references(str(path), stamp, folder, n_refs, zoo)


@st.cache_resource(show_spinner="Reading reference images ...")
def _read_references(path: str, stamp: tuple[int, int], folder: str | None, n_refs: int, _zoo: Zoo) -> ReferenceSet:
    # Keyed by the manifest's path and stamp; ``_zoo`` (not hashed) is the zoo they name.
    folder = folder or _zoo.manifest.references
    if folder is None:
        raise GifvizError("this zoo names no reference images: choose a folder on the Settings page")
    return load_reference_folder(folder, _zoo.space, n_refs)


def checked_settings(query: Mapping[str, str], policy: ServingPolicy) -> tuple[AppSettings, list[str]]:
    """The settings an address asks for, each unusable value replaced by its default, and one message per value.

    Beyond :func:`~gifviz.app.settings.read_query`'s checks, the manifest must open (inside the allowed roots, no
    refused source) and the working set's ids must be in its zoo.
    """
    reading = read_query(query, policy)
    current, messages = reading.settings, list(reading.messages)
    try:
        zoo = open_zoo(current.manifest)
    except GifvizError as error:
        messages.append(f"{error}; showing the built-in zoo")
        current = current.replace(manifest=builtin_manifest(), models=())
        try:
            zoo = open_zoo(current.manifest)
        except GifvizError:
            return current, messages  # the pages say what is wrong with the built-in zoo itself
    unknown = [model_id for model_id in current.models if model_id not in zoo.ids]
    if unknown:
        kept = tuple(model_id for model_id in current.models if model_id in zoo.ids)
        named = ", ".join(shorten(model_id, 40) for model_id in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        instead = "left out" if kept else "using the default working set"
        messages.append(f"models: {named}{more} not in zoo {zoo.name!r}; {instead}")
        current = current.replace(models=kept)
    return current, messages


def settings() -> AppSettings:
    """The current settings. The URL holds them (a reload or a shared link restores them); page navigation clears
    the URL, so the session keeps a copy and writes it back.

    The URL is untrusted: each value it holds that cannot be used is shown as one warning and replaced by its
    default, and the URL is rewritten to what the page uses, so the view works and a shared link is a clean one.
    """
    policy, problem = _policy()
    if problem:
        st.error(problem)
    query = st.query_params.to_dict()
    if query:
        current, messages = checked_settings(query, policy)
        for message in messages:
            st.warning(message)
        if messages:
            st.query_params.clear()
            st.query_params.update(current.to_query())
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


def visitor_folder() -> Path:
    """This visitor's own folder, ``$GIFVIZ_HOME/uploads/<visitor>/``: their uploads and working zoo live there.

    The visitor is this browser session, named by a random id kept in its session state (so no other visitor can
    guess or share the folder); a reload starts a new session and a new folder, while the address keeps naming
    the working zoo written before.
    """
    visitor = st.session_state.setdefault("gifviz_visitor", secrets.token_hex(8))
    return uploads.visitor_folder(visitor, default_home())


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


def fields(
    current: AppSettings, ids: Sequence[str], show_progress: bool = True, confirmed: bool = False
) -> dict[str, Field]:
    """Fields of ``ids`` under the current settings: from the store, computing (with progress) only what is missing.

    Computing is bounded by the operator's policy: estimated beyond ``max_seconds`` it is refused, beyond
    ``confirm_seconds`` the page asks the visitor first (unless ``confirmed``: the visitor pressed a button that
    asked for exactly this), and a run still going at ``max_seconds`` stops (each of
    these shows one message and stops the page). A click anywhere while this runs stops it (Streamlit reruns the
    page); finished fields stay in the store.
    """
    zoo = open_zoo(current.manifest)
    references = open_references(current.manifest, current.refs, current.n_refs)
    policy = serving_policy()
    todo = confirm_missing_fields(current, ids, confirmed)
    progress = StreamlitProgress(len(ids)) if show_progress and todo else None
    deadline = time.monotonic() + policy.max_seconds
    try:
        result = store_fields(
            zoo,
            references,
            current.field_config(),
            list(ids),
            open_store(),
            progress=progress,
            should_stop=lambda: time.monotonic() > deadline,
            summary=RunSummary(),
        )
    except Cancelled:
        st.error(
            f"stopped after {policy.max_seconds:,.0f} s, this server's limit of computing per request "
            "(GIFVIZ_MAX_SECONDS); the fields finished so far are kept: open the page again to go on"
        )
        st.stop()
    if progress is not None:
        progress.bar.empty()
    return result


def confirm_missing_fields(current: AppSettings, ids: Sequence[str], confirmed: bool = False) -> list[str]:
    """The models of ``ids`` whose field is not stored yet, after :func:`confirm_compute` has let computing them go
    ahead (refused past the server's limit, asked past its threshold unless ``confirmed``)."""
    todo = missing(current, ids)
    if todo:
        references = open_references(current.manifest, current.refs, current.n_refs)
        estimate = len(todo) * len(references) * current.steps * FIELD_SECONDS_PER_POINT
        confirm_compute(serving_policy(), estimate, f"{len(todo)} field(s)", confirmed=confirmed)
    return todo


def estimated_seconds(current: AppSettings, ids: Sequence[str], methods: Sequence[str]) -> float:
    """Rough seconds ``methods`` take on the models ``ids`` at the current references and field settings
    (:func:`gifviz.bench.costs.method_costs`; ModelGiF's fields already in the store cost only their reading)."""
    references = open_references(current.manifest, current.refs, current.n_refs)
    costs = method_costs(ids, list(methods), references, current.field_config(), open_store())
    return sum(cost.seconds for cost in costs)


def confirm_compute(
    policy: ServingPolicy, estimate: float, what: str, *, key: str = "confirm_compute", confirmed: bool = False
) -> None:
    """Refuse computing ``what`` (``"5 field(s)"``) for about ``estimate`` seconds beyond the operator's limit; ask
    first beyond the confirmation threshold (the page stops until the visitor presses the button ``key``), unless
    ``confirmed``."""
    try:
        policy.check_seconds(estimate)
    except GifvizError as error:
        st.error(str(error))
        st.stop()
    if policy.needs_confirmation(estimate) and not confirmed:
        st.warning(
            f"This view computes {what} first, about {estimate:,.0f} s on this server (it stops a request "
            f"after {policy.max_seconds:,.0f} s). Fewer models, references or steps make it quicker."
        )
        if not st.button(f"Compute {what}", type="primary", key=key):
            st.stop()


def field_keys(current: AppSettings, ids: Sequence[str]) -> tuple[str, ...] | None:
    """Store keys of the fields of ``ids`` under the current settings (``None`` without a store)."""
    store = open_store()
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
    store = open_store()
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
