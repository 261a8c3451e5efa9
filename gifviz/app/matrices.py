"""The distance matrix the Distances, Map and Clusters pages show, of the distance method the user picked.

ModelGiF's matrix is cached by the keys of the fields it comes from, so a rerun reads no field at all; a peer's by
the models' digests and the settings, so a rerun evaluates no model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import streamlit as st

from gifviz.app.resources import (
    StreamlitProgress,
    confirm_compute,
    confirm_missing_fields,
    estimated_seconds,
    field_keys,
    fields,
    open_references,
    open_store,
    open_zoo,
    save_settings,
    serving_policy,
)
from gifviz.app.serving import ServingRefused
from gifviz.app.settings import AppSettings
from gifviz.constants import DISTANCE_METHODS
from gifviz.distance import DistanceMatrix, distance_matrix
from gifviz.errors import Cancelled, GifvizError
from gifviz.field.result import Field
from gifviz.jobs import zoo_sketch_distances
from gifviz.methods import MethodInputs, distance_method, method_matrix
from gifviz.pipeline import provenance

# Above this many models the app's matrix comes from field sketches (gifviz.distance.sketch): the exact path holds every
# field in memory (about 6 MB each at the default settings), the sketch path one at a time.
SKETCH_ABOVE = 200


def _matrix_of(current: AppSettings, ids: Sequence[str], computed: dict[str, Field]) -> DistanceMatrix:
    zoo = open_zoo(current.manifest)
    references = open_references(current.manifest, current.refs, current.n_refs)
    return distance_matrix(
        [computed[i] for i in ids],
        list(ids),
        current.metric,
        provenance=provenance(zoo, references, current.field_config(), list(ids)),
    )


def matrix(current: AppSettings, ids: Sequence[str]) -> DistanceMatrix:
    """The distance matrix of ``ids`` by ``current.method``.

    ModelGiF's is cached by the fields' keys, so a rerun reads no field at all; past ``SKETCH_ABOVE`` models (cosine
    only) it is approximated from field sketches, one field in memory at a time.
    """
    if current.method != "modelgif":
        zoo = open_zoo(current.manifest)
        digests = tuple(zoo.load(model_id).digest for model_id in ids)
        return _method_matrix(current, tuple(ids), digests)
    if len(ids) > SKETCH_ABOVE and current.metric == "cosine":
        confirm_missing_fields(current, ids)  # the sketch path computes fields itself: the limits of fields()
        return _sketched_matrix(current, tuple(ids))
    keys = field_keys(current, ids)
    store = open_store()
    if keys is not None and all(store.contains(k) for k in keys):
        return _cached_matrix(current, tuple(ids), keys)
    return _matrix_of(current, ids, fields(current, ids))


@st.cache_data(show_spinner="Computing distances ...", max_entries=32)
def _cached_matrix(current: AppSettings, ids: tuple[str, ...], keys: tuple[str, ...]) -> DistanceMatrix:
    return _matrix_of(current, ids, fields(current, ids, show_progress=False))


@st.cache_data(show_spinner="Sketching fields ...", max_entries=4)
def _sketched_matrix(current: AppSettings, ids: tuple[str, ...]) -> DistanceMatrix:
    zoo = open_zoo(current.manifest)
    references = open_references(current.manifest, current.refs, current.n_refs)
    return zoo_sketch_distances(zoo, references, current.field_config(), list(ids), open_store())


@st.cache_data(show_spinner=False, max_entries=16)
def _method_matrix(current: AppSettings, ids: tuple[str, ...], digests: tuple[str, ...]) -> DistanceMatrix:
    """A peer's matrix, on the same references as ModelGiF's; methods that craft their samples from a model craft
    them from the first model of the working set (named in the provenance). ``digests`` key the cache: a model file
    replaced under the same id is evaluated again."""
    zoo = open_zoo(current.manifest)
    references = open_references(current.manifest, current.refs, current.n_refs)
    progress = StreamlitProgress(len(ids))
    deadline = time.monotonic() + serving_policy().max_seconds  # the operator's limit holds mid-run too
    inputs = MethodInputs(references, None, zoo.space.value_range)
    try:
        result = method_matrix(current.method, zoo, ids, inputs, progress, lambda: time.monotonic() > deadline)
    except Cancelled:
        raise ServingRefused(
            f"stopped after {serving_policy().max_seconds:,.0f} s, this server's limit of computing per request "
            "(GIFVIZ_MAX_SECONDS); choose fewer models or references"
        ) from None
    progress.bar.empty()
    return result


def method_choice(current: AppSettings, container=st) -> AppSettings:
    """The distance-method selector of the model-space pages; a new choice is saved in the URL."""
    titles = {name: distance_method(name).title for name in DISTANCE_METHODS}
    method = container.selectbox(
        "Distance method",
        DISTANCE_METHODS,
        index=DISTANCE_METHODS.index(current.method) if current.method in DISTANCE_METHODS else 0,
        format_func=titles.get,
        help="ModelGiF or a peer method, on the same models and references",
        key="distance_method",
    )
    if method != current.method:
        current = current.replace(method=method)
        save_settings(current)
    return current


def _ask_before_a_slow_peer(current: AppSettings, ids: Sequence[str]) -> None:
    """A peer's matrix beyond the server's limit is refused; beyond its confirmation threshold the page waits for
    the Compute button (once per view and session). ModelGiF's fields ask in :func:`resources.fields` instead."""
    confirmed = st.session_state.setdefault("gifviz_confirmed_matrices", set())
    request = (current, tuple(ids))
    seconds = estimated_seconds(current, ids, [current.method])
    what = f"{distance_method(current.method).title} on {len(ids)} models"
    confirm_compute(serving_policy(), seconds, what, key="compute_matrix", confirmed=request in confirmed)
    confirmed.add(request)  # asked once: a rerun of the same view reads the cached matrix


def heatmap_title(current: AppSettings) -> str:
    """The heatmap's title: the method, and ModelGiF's distance variant."""
    if current.method == "modelgif":
        return f"ModelGiF distance ({current.metric})"
    return f"{distance_method(current.method).title} distance"


def describe(current: AppSettings, ids: Sequence[str]) -> str:
    """The caption under a matrix: models, references and the method's own settings."""
    if current.method == "modelgif":
        return (
            f"ModelGiF · {len(ids)} models · N = {current.n_refs} references · S = {current.steps} steps · "
            f"baseline {current.baseline} · target {current.target} · {current.metric}"
        )
    method = distance_method(current.method)
    return f"{method.title} ({method.citation}, {method.access}) · {len(ids)} models · N = {current.n_refs} references"


def page_matrix(current: AppSettings, ids: Sequence[str]) -> DistanceMatrix:
    """:func:`matrix` for a page, of the models the method can compare (a note names the others): a slow one waits
    for the Compute button or is refused past the server's limit, and a user error is shown with ``st.error`` and
    the page stops."""
    try:
        if current.method != "modelgif":
            _ask_before_a_slow_peer(current, ids)
        shown, dropped = matrix(current, ids).comparable()
    except GifvizError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() does not return; this keeps type checkers honest
    if dropped:
        st.info(
            f"{distance_method(current.method).title} cannot compare models with other output classes: "
            f"shown without {', '.join(dropped)}"
        )
    if len(shown) < 2:
        st.error("Fewer than two models remain that this method can compare: pick another method or other models.")
        st.stop()
    return shown
