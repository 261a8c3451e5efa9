"""The distance matrix the Distances, Map and Clusters pages show, cached by the keys of the fields it comes from,
so a rerun reads no field at all."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from gifviz.app.resources import field_keys, fields, open_references, open_store, open_zoo
from gifviz.app.settings import AppSettings
from gifviz.distance import DistanceMatrix, distance_matrix
from gifviz.errors import GifvizError
from gifviz.field.result import Field
from gifviz.jobs import zoo_sketch_distances
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
    """The distance matrix of ``ids``; cached by the fields' keys, so a rerun reads no field at all.

    Past ``SKETCH_ABOVE`` models (cosine only) it is approximated from field sketches, one field in memory at a time.
    """
    if len(ids) > SKETCH_ABOVE and current.metric == "cosine":
        return _sketched_matrix(current, tuple(ids))
    keys = field_keys(current, ids)
    store = open_store(current.cache_dir)
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
    return zoo_sketch_distances(zoo, references, current.field_config(), list(ids), open_store(current.cache_dir))


def page_matrix(current: AppSettings, ids: Sequence[str]) -> DistanceMatrix:
    """:func:`matrix` for a page: a user error is shown with ``st.error`` and the page stops."""
    try:
        return matrix(current, ids)
    except GifvizError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() does not return; this keeps type checkers honest
