"""One unit of work: the field of one model of a manifest, self-contained so it can run in another process."""

from __future__ import annotations

import dataclasses
import time

import torch

from gifviz import errors
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
    """A computed field, encoded as blob bytes (so it crosses process boundaries as one buffer), or the user-facing
    error that stopped it (``failure``: the :mod:`gifviz.errors` class name and its message), so the driver can skip
    the model or raise the same error instead of receiving a remote traceback."""

    key: str
    model_id: str
    blob: bytes
    device: str
    seconds: float
    failure: tuple[str, str] | None = None

    def raise_failure(self) -> FieldResult:
        """``self`` when the field was computed; else raises the worker's error again, as its own class."""
        if self.failure is None:
            return self
        kind, message = self.failure
        error_class = getattr(errors, kind, None)
        if not (isinstance(error_class, type) and issubclass(error_class, errors.GifvizError)):
            error_class = errors.GifvizError
        raise error_class(message)


def run_field_task(task: FieldTask, device: str | None = None) -> FieldResult:
    """Load the model from its manifest and compute its field (in whatever process runs this); a user-facing error
    comes back as the result's ``failure``."""
    import json

    config = FieldConfig.from_dict(json.loads(task.config_json))
    if device is not None:
        config = config.replace(device=device)
    started = time.perf_counter()
    try:
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
    except errors.GifvizError as error:
        return FieldResult(task.key, task.model_id, b"", str(config.device), time.perf_counter() - started,
                           failure=(type(error).__name__, str(error)))  # fmt: skip
    return FieldResult(
        key=task.key,
        model_id=task.model_id,
        blob=encode_field(field),
        device=str(resolve_device(config.device)),
        seconds=time.perf_counter() - started,
    )
