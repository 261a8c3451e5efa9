"""Fill the store with the fields a zoo is missing, locally or on Ray, with progress; return all fields."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence

from gifviz.config import FieldConfig
from gifviz.constants import EXECUTORS
from gifviz.distance import DistanceMatrix, distance_matrix
from gifviz.errors import ConfigError, GifvizError, ManifestError, ModelLoadError, ModelOutputError
from gifviz.field.result import Field
from gifviz.hub.zoo import Zoo
from gifviz.jobs.ray_tasks import FieldResult, FieldTask
from gifviz.pipeline import ZooProgress, model_field, provenance
from gifviz.refs import ReferenceSet
from gifviz.store.blobs import decode_field
from gifviz.store.store import FieldStore
from gifviz.torch_helpers import resolve_device

# What ``skip_bad`` leaves out: a model that will not load, whose outputs do not fit the target (NaN, shape, missing
# layer) or whose gradients are not finite. Cancelled and StoreUnavailable are never a model's fault.
SKIPPABLE = (ModelLoadError, ManifestError, ModelOutputError, ConfigError)


@dataclasses.dataclass
class RunSummary:
    """What a run did, one list of model ids per outcome (each model of the run lands in exactly one).

    Attributes:
        hits: in the store when the run looked, before computing anything.
        computed: computed by this process (and stored).
        stored_elsewhere: missing when the run started, then found stored by another process (another run racing
            on the same store) when this one came to compute it.
        skipped: model id -> one-line reason, for models left out by ``skip_bad``.
    """

    hits: list[str] = dataclasses.field(default_factory=list)
    computed: list[str] = dataclasses.field(default_factory=list)
    stored_elsewhere: list[str] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def describe(self, store: str | None = None) -> str:
        """One line for the CLI, e.g. ``7 field(s) computed, 5 stored meanwhile by another run, 0 already in
        /home/u/.cache/gifviz``; ``store`` is where the store lives (``None``: no store)."""
        line = f"{len(self.computed)} field(s) computed"
        if store is None:
            line += " (no field store)"
        else:
            if self.stored_elsewhere:
                line += f", {len(self.stored_elsewhere)} stored meanwhile by another run"
            line += f", {len(self.hits)} already in {store}"
        if self.skipped:
            line += f", {len(self.skipped)} model(s) skipped"
        return line


def store_fields(
    zoo: Zoo,
    references: ReferenceSet,
    config: FieldConfig,
    ids: Sequence[str] | None = None,
    store: FieldStore | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    progress: ZooProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    summary: RunSummary | None = None,
    skip_bad: bool = False,
) -> dict[str, Field]:
    """Fields of ``ids`` (default: all), taken from ``store`` when present and computed (then stored) when not.

    Each finished field is stored at once, so a run killed half-way keeps everything it finished and a rerun resumes.
    With ``skip_bad``, a model that fails to load or whose field fails (outputs unfit for the target, NaN or infinite
    gradients) is left out of the result and recorded in ``summary.skipped`` with its reason; without it, the first
    such error is raised. A non-finite field is never stored.

    Returns:
        model id -> field ``(N, S, D)``, in the order of ``ids``, skipped models left out.
    """
    if executor not in EXECUTORS:
        raise GifvizError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    ids = list(ids or zoo.ids)
    summary = summary if summary is not None else RunSummary()
    refs_digest = references.field_digest(config)
    models = {}
    for model_id in ids:
        with _skipping(model_id, skip_bad, summary):
            models[model_id] = zoo.load(model_id)
    keys = {i: (store.key_for(models[i].digest, refs_digest, config) if store else "") for i in models}
    fields: dict[str, Field] = {}
    missing = []
    for model_id in models:
        cached = store.get(keys[model_id]) if store else None
        if cached is not None:
            fields[model_id] = cached
            summary.hits.append(model_id)
        else:
            missing.append(model_id)
    total = len(references) * config.steps
    if missing:  # a device that is not there fails the run, not each model in turn (skip_bad is for models)
        resolve_device(config.device)
    if executor == "ray" and missing:
        _run_ray(
            zoo,
            references,
            refs_digest,
            config,
            missing,
            keys,
            models,
            store,
            address,
            progress,
            fields,
            summary,
            skip_bad,
        )
    else:
        for position, model_id in enumerate(missing):
            if progress:
                progress.start(model_id, position, len(missing), total)

            def compute(model_id: str = model_id) -> Field:
                return model_field(
                    zoo, model_id, references, config, progress.advance if progress else None, should_stop
                )

            try:
                with _skipping(model_id, skip_bad, summary):
                    field, computed_here = _obtain(model_id, compute, store, keys, models, refs_digest, config)
                    fields[model_id] = field
                    (summary.computed if computed_here else summary.stored_elsewhere).append(model_id)
            finally:
                if progress:
                    progress.finish(model_id)
    return {model_id: fields[model_id] for model_id in ids if model_id in fields}


def _obtain(model_id, compute, store, keys, models, refs_digest, config) -> tuple[Field, bool]:
    """The field of a model the store lacked when the run looked, and whether this process computed it (False: another
    process stored it meanwhile)."""
    if store is None:
        return compute(), True
    obtained = store.obtain(
        keys[model_id],
        compute,
        model_digest=models[model_id].digest,
        refs_digest=refs_digest,
        device=str(resolve_device(config.device)),
    )
    return obtained.field, obtained.origin == "computed"


@contextlib.contextmanager
def _skipping(model_id: str, skip_bad: bool, summary: RunSummary) -> Iterator[None]:
    """With ``skip_bad``, a :data:`SKIPPABLE` error of ``model_id`` is recorded in ``summary.skipped``, not raised."""
    try:
        yield
    except SKIPPABLE as error:
        if not skip_bad:
            raise
        summary.skipped[model_id] = str(error)


def kept_ids(ids: Sequence[str], fields: dict[str, Field], summary: RunSummary) -> list[str]:
    """``ids`` whose field exists, in order; an error naming every reason when no model is left."""
    kept = [model_id for model_id in ids if model_id in fields]
    if not kept:
        reasons = "; ".join(f"{model_id}: {reason}" for model_id, reason in summary.skipped.items())
        raise GifvizError(f"no model could be used ({reasons})")
    return kept


def _run_ray(
    zoo, references, refs_digest, config, missing, keys, models, store, address, progress, fields, summary, skip_bad
) -> None:
    from gifviz.jobs.ray_executor import run_on_ray

    if zoo.manifest.path is None:
        raise GifvizError("the Ray executor needs a zoo loaded from a manifest file (workers read it)")
    tasks = [FieldTask.of(str(zoo.manifest.path), model_id, references, config, keys[model_id]) for model_id in missing]
    total = len(references) * config.steps
    done = 0

    def on_result(result: FieldResult) -> None:
        nonlocal done
        with _skipping(result.model_id, skip_bad, summary):
            field = decode_field(result.raise_failure().blob)
            if store is not None:
                store.put(
                    result.key,
                    field,
                    model_digest=models[result.model_id].digest,
                    refs_digest=refs_digest,
                    device=result.device,
                    seconds=result.seconds,
                )
            fields[result.model_id] = field
            summary.computed.append(result.model_id)
        if progress:
            progress.start(result.model_id, done, len(missing), total)
            progress.advance(total, total)
            progress.finish(result.model_id)
        done += 1

    run_on_ray(tasks, address, on_result, num_cpus=None)


def zoo_distances(
    zoo: Zoo,
    references: ReferenceSet,
    config: FieldConfig,
    ids: Sequence[str] | None = None,
    metric: str = "cosine",
    store: FieldStore | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    progress: ZooProgress | None = None,
    summary: RunSummary | None = None,
    skip_bad: bool = False,
) -> DistanceMatrix:
    """The ``(M, M)`` distance matrix of the zoo's models on ``references``; fields come from ``store`` when cached.

    With ``skip_bad`` the models :func:`store_fields` leaves out are not in the matrix (nor in its labels); its
    provenance lists them under ``skipped`` with their reasons.
    """
    ids = list(ids or zoo.ids)
    summary = summary if summary is not None else RunSummary()
    fields = store_fields(
        zoo,
        references,
        config,
        ids,
        store,
        executor=executor,
        address=address,
        progress=progress,
        summary=summary,
        skip_bad=skip_bad,
    )
    kept = kept_ids(ids, fields, summary)
    info = provenance(zoo, references, config, kept) | skipped_provenance(summary)
    return distance_matrix([fields[i] for i in kept], kept, metric, provenance=info)


def skipped_provenance(summary: RunSummary) -> dict:
    """``{"skipped": {model id: reason}}`` for a matrix that left models out, else nothing."""
    return {"skipped": dict(summary.skipped)} if summary.skipped else {}
