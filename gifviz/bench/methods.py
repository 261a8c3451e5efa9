"""ModelGiF and every peer as one kind of object for the testbeds: a distance for any pair of models on any subset
of its samples, with what it cost.

The testbeds call ``run.distance(a, b, rows)`` many times (bootstrap resamples, the reference-count sweep), so each
run pays for its model evaluations once and every later distance is cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence

import numpy as np

from gifviz.config import FieldConfig
from gifviz.distance import field_distance
from gifviz.hub.spec import LoadedModel
from gifviz.hub.zoo import Zoo
from gifviz.jobs.runner import store_fields
from gifviz.peers import PeerInputs, peer_method
from gifviz.pipeline import ZooProgress
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore

PairDistance = Callable[[str, str, "np.ndarray | None"], float]


@dataclasses.dataclass
class MethodRun:
    """One method evaluated on a set of models.

    Attributes:
        name: method key (``modelgif``, ``sac-m``, ...).
        title: display name.
        access: ``white-box`` or ``black-box``.
        samples: how many samples its distances are averaged over (rows for resampling).
        evaluations: model evaluations per model (forward passes; for ModelGiF each also has a backward pass).
        seconds: wall time spent evaluating the models (zero for fields served from the store).
        pair: ``(a, b, rows) -> distance`` on sample ``rows`` (``None``: all); NaN where the method cannot compare.
        note: why the method could not run on these models (its distances are then all NaN), else empty.
    """

    name: str
    title: str
    access: str
    samples: int
    evaluations: int
    seconds: float
    pair: PairDistance
    note: str = ""

    def distance(self, a: str, b: str, rows: np.ndarray | None = None) -> float:
        return 0.0 if a == b else self.pair(a, b, rows)


def modelgif_run(
    zoo: Zoo,
    ids: Sequence[str],
    references: ReferenceSet,
    config: FieldConfig,
    store: FieldStore | None = None,
    *,
    name: str = "modelgif",
    title: str = "ModelGiF",
    progress: ZooProgress | None = None,
) -> MethodRun:
    """ModelGiF fields of ``ids`` (from ``store`` when cached) as a :class:`MethodRun`."""
    started = time.perf_counter()
    fields = store_fields(zoo, references, config, list(ids), store, progress=progress)
    seconds = time.perf_counter() - started

    @functools.cache
    def per_input(a: str, b: str) -> np.ndarray:
        return np.asarray(field_distance(fields[a], fields[b]).per_input, dtype=np.float64)

    def pair(a: str, b: str, rows: np.ndarray | None) -> float:
        values = per_input(*sorted((a, b)))
        return float(values.mean() if rows is None else values[rows].mean())

    return MethodRun(name, title, "white-box", len(references), len(references) * config.steps, seconds, pair)


def peer_run(name: str, models: Sequence[LoadedModel], inputs: PeerInputs) -> MethodRun:
    """Peer method ``name`` on ``models`` (its samples crafted from ``inputs.probe`` when it uses one)."""
    method = peer_method(name)
    started = time.perf_counter()
    context = method.prepare(inputs, inputs.probe or models[0])
    signatures = {model.id: method.signature(model, context) for model in models}
    seconds = time.perf_counter() - started

    def pair(a: str, b: str, rows: np.ndarray | None) -> float:
        return method.distance(signatures[a], signatures[b], rows)

    samples = int(next(iter(signatures.values())).values.shape[0])
    return MethodRun(name, method.title, method.access, samples, method.evaluations(context), seconds, pair)


def failed_run(name: str, title: str, access: str, reason: str) -> MethodRun:
    """A method that could not run on these models (a TorchScript model has no hookable layer, SAC-w has no labels):
    it stays in the tables as n/a with the reason, instead of stopping the whole testbed or vanishing from it."""
    return MethodRun(name, title, access, 0, 0, 0.0, lambda a, b, rows: float("nan"), note=reason)


def bootstrap_rows(samples: int, resamples: int, seed: int) -> list[np.ndarray]:
    """``resamples`` index vectors ``(samples,)`` drawn with replacement (the bootstrap over references)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, samples, size=samples) for _ in range(resamples)]


def interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values, ignoring NaN (NaN, NaN when none is finite)."""
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))
