"""One unit of work: the field of one model of a manifest, self-contained so it can run in another process."""

from __future__ import annotations

import dataclasses
import time

import torch

from gifviz.config import FieldConfig
from gifviz.field import compute_field, resolve_device
from gifviz.hub.zoo import Zoo
from gifviz.refs import ReferenceSet
from gifviz.store.blobs import encode_field


@dataclasses.dataclass(frozen=True)
class FieldTask:
    """Everything a worker needs: where the manifest is, which model, the references and the config (as JSON)."""

    manifest: str
    model_id: str
    images: torch.Tensor
    names: tuple[str, ...]
    config_json: str
    key: str


@dataclasses.dataclass(frozen=True)
class FieldResult:
    """A computed field, encoded as blob bytes (so it crosses process boundaries as one buffer)."""

    key: str
    model_id: str
    blob: bytes
    device: str
    seconds: float


def run_field_task(task: FieldTask, device: str | None = None) -> FieldResult:
    """Load the model from its manifest and compute its field (in whatever process runs this)."""
    import json

    config = FieldConfig.from_dict(json.loads(task.config_json))
    if device is not None:
        config = config.replace(device=device)
    zoo = Zoo.open(task.manifest)
    model = zoo.load(task.model_id)
    started = time.perf_counter()
    field = compute_field(
        model.module,
        ReferenceSet(task.images, task.names),
        config,
        model.preprocess,
        value_range=zoo.space.value_range,
        model_id=task.model_id,
    )
    return FieldResult(
        key=task.key,
        model_id=task.model_id,
        blob=encode_field(field),
        device=str(resolve_device(config.device)),
        seconds=time.perf_counter() - started,
    )
