"""What the Compare page shows: two models' fields, their distance and its bootstrap interval over references.

The interval takes 2,000 resamples; it is cached on the per-input distances it comes from, so moving a slider or
picking another reference image (a rerun of the page) draws nothing again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import streamlit as st

from gifviz.analysis.stats import Interval, bootstrap_mean
from gifviz.app import resources
from gifviz.app.settings import AppSettings
from gifviz.distance import FieldDistance, field_distance
from gifviz.field.result import Field
from gifviz.hub.zoo import Zoo


@dataclasses.dataclass(frozen=True)
class PairComparison:
    """Two fields ``(N, S, D)`` on the same references, their distance (with per-step ``(S,)`` and per-input
    ``(N,)`` breakdowns) and the distance's 95% bootstrap interval over the ``N`` references."""

    first: Field
    second: Field
    distance: FieldDistance
    interval: Interval

    @property
    def alphas(self) -> np.ndarray:
        """``(S,)`` path nodes, for the per-step curve's axis."""
        return self.first.alphas.numpy()

    @property
    def steps(self) -> int:
        return int(self.first.shape[1])


@st.cache_data(show_spinner=False, max_entries=64)
def bootstrap_interval(per_input: np.ndarray) -> Interval:
    """:func:`gifviz.analysis.stats.bootstrap_mean` of ``per_input`` ``(N,)``, cached on its values."""
    return bootstrap_mean(per_input)


def compare_pair(current: AppSettings, first: str, second: str, metric: str) -> PairComparison:
    """Fields of ``first`` and ``second`` under the current settings (from the store, or computed with progress),
    their ``metric`` distance and its interval."""
    fields = resources.fields(current, [first, second])
    distance = field_distance(fields[first], fields[second], metric)
    return PairComparison(fields[first], fields[second], distance, bootstrap_interval(distance.per_input))


def default_partner(zoo: Zoo, ids: Sequence[str], first: str) -> str:
    """The model to compare ``first`` with by default: a child of ``first`` when it has one, else the second model."""
    return next((i for i in ids if zoo.spec(i).parent == first), ids[min(1, len(ids) - 1)])


def model_caption(zoo: Zoo, model_id: str) -> str:
    """One line on a compared model: architecture, task and lineage."""
    spec = zoo.spec(model_id)
    lineage = f"relation {spec.relation or '-'}, parent {spec.parent or '-'}"
    return f"{model_id}: {spec.arch}, task {spec.task}, {lineage}"
