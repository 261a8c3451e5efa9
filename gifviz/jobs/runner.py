"""Fill the store with the fields a zoo is missing, locally or on Ray, with progress; return all fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from gifviz.config import FieldConfig
from gifviz.distance import distance_matrix
from gifviz.errors import GifvizError
from gifviz.field import Field, resolve_device
from gifviz.hub.zoo import Zoo
from gifviz.jobs.tasks import FieldResult, FieldTask
from gifviz.matrix import DistanceMatrix
from gifviz.pipeline import ZooProgress, model_field, provenance
from gifviz.refs import ReferenceSet
from gifviz.store.blobs import decode_field
from gifviz.store.store import FieldStore

EXECUTORS = ("local", "ray")


@dataclasses.dataclass
class RunSummary:
    """What a run did: which fields were served from the store and which were computed."""

    hits: list[str] = dataclasses.field(default_factory=list)
    computed: list[str] = dataclasses.field(default_factory=list)


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
) -> dict[str, Field]:
    """Fields of ``ids`` (default: all), taken from ``store`` when present and computed (then stored) when not.

    Each finished field is stored at once, so a run killed half-way keeps everything it finished and a rerun resumes.
    """
    if executor not in EXECUTORS:
        raise GifvizError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    ids = list(ids or zoo.ids)
    summary = summary if summary is not None else RunSummary()
    refs_digest = references.digest()
    models = {model_id: zoo.load(model_id) for model_id in ids}
    keys = {i: (store.key_for(models[i].digest, refs_digest, config) if store else "") for i in ids}
    fields: dict[str, Field] = {}
    missing = []
    for model_id in ids:
        cached = store.get(keys[model_id]) if store else None
        if cached is not None:
            fields[model_id] = cached
            summary.hits.append(model_id)
        else:
            missing.append(model_id)
    total = len(references) * config.steps
    if executor == "ray" and missing:
        _run_ray(zoo, references, refs_digest, config, missing, keys, models, store, address, progress, fields,
                 summary)  # fmt: skip
    else:
        for position, model_id in enumerate(missing):
            if progress:
                progress.start(model_id, position, len(missing), total)

            def compute(model_id: str = model_id) -> Field:
                return model_field(zoo, model_id, references, config, progress.advance if progress else None,
                                   should_stop)  # fmt: skip

            if store is not None:
                fields[model_id] = store.get_or_compute(
                    keys[model_id], compute, model_digest=models[model_id].digest, refs_digest=refs_digest,
                    device=str(resolve_device(config.device)),
                )  # fmt: skip
            else:
                fields[model_id] = compute()
            summary.computed.append(model_id)
            if progress:
                progress.finish(model_id)
    return {model_id: fields[model_id] for model_id in ids}


def _run_ray(
    zoo, references, refs_digest, config, missing, keys, models, store, address, progress, fields, summary
) -> None:
    from gifviz.jobs.ray_executor import run_on_ray

    if zoo.manifest.path is None:
        raise GifvizError("the Ray executor needs a zoo loaded from a manifest file (workers read it)")
    tasks = [
        FieldTask(
            str(zoo.manifest.path), model_id, references.images, references.names, config.to_json(), keys[model_id]
        )
        for model_id in missing
    ]
    total = len(references) * config.steps
    done = 0

    def on_result(result: FieldResult) -> None:
        nonlocal done
        field = decode_field(result.blob)
        if store is not None:
            store.put(result.key, field, model_digest=models[result.model_id].digest, refs_digest=refs_digest,
                      device=result.device, seconds=result.seconds)  # fmt: skip
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
) -> DistanceMatrix:
    """The ``(M, M)`` distance matrix of the zoo's models on ``references``; fields come from ``store`` when cached."""
    ids = list(ids or zoo.ids)
    fields = store_fields(zoo, references, config, ids, store, executor=executor, address=address, progress=progress,
                          summary=summary)  # fmt: skip
    return distance_matrix([fields[i] for i in ids], ids, metric, provenance=provenance(zoo, references, config, ids))
