"""Any distance method evaluated on a zoo's models: a distance for any pair on any subset of its samples, with what
it cost.

The testbeds call ``run.distance(a, b, rows)`` many times (bootstrap resamples, the reference-count sweep), so each
run pays for its model evaluations once and every later distance is cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence

import numpy as np

from gifviz.errors import Cancelled, GifvizError
from gifviz.hub.zoo import Zoo
from gifviz.methods.interface import DistanceMethod, MethodInputs, Signature
from gifviz.pipeline import ZooProgress

PairDistance = Callable[[str, str, "np.ndarray | None"], float]
# Signatures already computed in one testbed run, keyed by what decides them (see :func:`method_run`), with the
# seconds and evaluations they took and the models the method could not read.
SignatureCache = dict[tuple, tuple[dict[str, Signature], float, int, dict[str, str]]]


@dataclasses.dataclass
class MethodRun:
    """One method evaluated on a set of models.

    Attributes:
        name: method key (``modelgif``, ``sac-m``, ``modelgif:<variant>``, ...).
        title: display name.
        access: ``white-box`` or ``black-box``.
        samples: how many samples its distances are averaged over (rows for resampling).
        evaluations: model evaluations per model (forward passes; for ModelGiF each also has a backward pass).
        seconds: wall time spent evaluating the models (zero for fields served from the store).
        pair: ``(a, b, rows) -> distance`` on sample ``rows`` (``None``: all); NaN where the method cannot compare.
        note: why the method could not run on these models (its distances are then all NaN), else empty.
        reads_references: whether its distances depend on the references (``False``: nothing to resample or sweep).
        unread: the models it could not read while it read the others, each with why (a frozen TorchScript file has
            no layer to read CKA's features from); their distances are NaN.
    """

    name: str
    title: str
    access: str
    samples: int
    evaluations: int
    seconds: float
    pair: PairDistance
    note: str = ""
    reads_references: bool = True
    unread: dict[str, str] = dataclasses.field(default_factory=dict)

    def distance(self, a: str, b: str, rows: np.ndarray | None = None) -> float:
        return 0.0 if a == b else self.pair(a, b, rows)


def signatures_of(
    method: DistanceMethod,
    zoo: Zoo,
    ids: Sequence[str],
    inputs: MethodInputs,
    progress: ZooProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    unread: dict[str, GifvizError] | None = None,
) -> tuple[dict[str, Signature], int]:
    """The signature of each of ``ids`` and the model evaluations each took.

    Samples are prepared once, with ``inputs.probe`` (default: the first model) for a method that crafts them from a
    model; ModelGiF's signatures come through its store-backed path. ``should_stop`` is polled after each model
    and stops the run with :class:`~gifviz.errors.Cancelled`. ``unread``, when given, receives each model the method
    cannot read (its error) and the others are still read; without it, that error stops the run.
    """
    if method.zoo_signatures is not None and not method.uses_probe:
        context = method.prepare(inputs, inputs.probe)
        return method.zoo_signatures(zoo, ids, context, progress, unread), method.evaluations(context)
    models = [zoo.load(model_id) for model_id in ids]
    context = method.prepare(inputs, inputs.probe or models[0])
    evaluations = method.evaluations(context)
    signatures = {}
    for position, model in enumerate(models):
        if progress is not None:  # one step per model: a peer's forward passes are batched, not chunked
            progress.start(model.id, position, len(models), evaluations)
        try:
            signatures[model.id] = method.signature(model, context)
        except GifvizError as error:
            if unread is None:
                raise
            unread[model.id] = error
        if progress is not None:
            progress.advance(evaluations, evaluations)
            progress.finish(model.id)
        if should_stop is not None and should_stop():
            raise Cancelled(f"{method.title} stopped after {position + 1} of {len(models)} models")
    return signatures, evaluations


def method_run(
    method: DistanceMethod,
    zoo: Zoo,
    ids: Sequence[str],
    inputs: MethodInputs,
    *,
    name: str | None = None,
    title: str | None = None,
    progress: ZooProgress | None = None,
    shared: SignatureCache | None = None,
) -> MethodRun:
    """``method`` on the models ``ids`` of ``zoo`` as a :class:`MethodRun` (``name``/``title``: the method's own
    unless a variant is being run).

    ``shared``: signatures already computed in this testbed run, keyed by what decides them (the method's sample and
    signature functions, the probe, the samples' source, the field configuration, the models). Output disagreement
    and softmax distance read the same softmax outputs, so the second of them costs no forward pass; its ``seconds``
    stay those of computing the signatures, the method's cost when run alone.
    """
    probe_id = inputs.probe.id if inputs.probe is not None else ""
    key = (method.prepare, method.signature, probe_id, id(inputs.references), inputs.seed, inputs.field, tuple(ids))
    if shared is not None and key in shared:
        signatures, seconds, evaluations, unread = shared[key]
    else:
        started = time.perf_counter()
        errors: dict[str, GifvizError] = {}
        signatures, evaluations = signatures_of(method, zoo, ids, inputs, progress, unread=errors)
        if errors and not signatures:  # it read no model: its first error stops it, as when preparing fails
            raise next(iter(errors.values()))
        unread = {m: str(error) for m, error in errors.items()}
        seconds = time.perf_counter() - started
        if shared is not None:
            shared[key] = signatures, seconds, evaluations, unread
    samples = int(next(iter(signatures.values())).values.shape[0]) if signatures else 0
    return MethodRun(
        name or method.name,
        title or method.title,
        method.access,
        samples,
        evaluations,
        seconds,
        _pair_distance(method, signatures)
        if not unread
        else _read_only(_pair_distance(method, signatures), signatures),
        reads_references=method.reads_references,
        unread=dict(unread),
    )


def _read_only(pair: PairDistance, signatures: dict[str, Signature]) -> PairDistance:
    """``pair``, NaN where either model has no signature (the method could not read it)."""
    return lambda a, b, rows: pair(a, b, rows) if a in signatures and b in signatures else float("nan")


def _pair_distance(method: DistanceMethod, signatures: dict[str, Signature]) -> PairDistance:
    if not method.reads_references:  # no row changes a pair's distance: compute each pair once

        @functools.cache
        def fixed(a: str, b: str) -> float:
            return method.distance(signatures[a], signatures[b], None)

        return lambda a, b, rows: fixed(a, b)
    if method.per_sample is None:
        return lambda a, b, rows: method.distance(signatures[a], signatures[b], rows)

    # A costly comparison (ModelGiF's: N*S*D products) is done once per pair; resamples and the sweep average rows.
    @functools.cache
    def per_sample(a: str, b: str) -> np.ndarray:
        return method.per_sample(signatures[a], signatures[b])

    def pair(a: str, b: str, rows: np.ndarray | None) -> float:
        if method.shared_outputs and signatures[a].classes != signatures[b].classes:
            return float("nan")
        values = per_sample(*sorted((a, b)))
        return float(values.mean() if rows is None else values[rows].mean())

    return pair


def failed_run(name: str, title: str, access: str, reason: str) -> MethodRun:
    """A method that could not run on these models (a model behind an API has no layer to read, a TorchScript layer
    its graph cannot place, SAC-w has no labels): it stays in the tables as n/a with the reason, instead of stopping
    the whole testbed or vanishing from it."""
    return MethodRun(name, title, access, 0, 0, 0.0, lambda a, b, rows: float("nan"), note=reason)


def per_probe_run(runs: dict[str, MethodRun]) -> MethodRun:
    """A probe-dependent method run once per probe (IPP: once per source), as one run: a pair's distance is that of
    the run whose probe is the pair's first model."""
    first = next(iter(runs.values()))
    return MethodRun(
        first.name,
        first.title,
        first.access,
        min(run.samples for run in runs.values()),
        first.evaluations,
        sum(run.seconds for run in runs.values()),
        lambda a, b, rows: runs[a].distance(a, b, rows),
        "; ".join(dict.fromkeys(run.note for run in runs.values() if run.note)),
        first.reads_references,
        {m: reason for run in runs.values() for m, reason in run.unread.items()},
    )
