"""One unit of work: the field of one model of a manifest, self-contained so it can run in another process."""

from __future__ import annotations

import dataclasses
import time

import torch

from gifviz import errors
from gifviz.config import FieldConfig
from gifviz.hub.zoo import Zoo
from gifviz.pipeline import field_of
from gifviz.refs import ReferenceSet
from gifviz.store.blobs import encode_field
from gifviz.torch_helpers import resolve_device


@dataclasses.dataclass(frozen=True)
class FieldTask:
    """Everything a worker needs: where the manifest is, which model, the references and the config (as JSON).

    Attributes:
        images: ``(N, C, H, W)`` reference images; ``names`` one per image; ``labels`` their ``(N,)`` classes when
            the reference set has them (``target="label"`` reads them).
    """

    manifest: str
    model_id: str
    images: torch.Tensor
    names: tuple[str, ...]
    config_json: str
    key: str
    labels: torch.Tensor | None = None

    @classmethod
    def of(cls, manifest: str, model_id: str, references: ReferenceSet, config: FieldConfig, key: str) -> FieldTask:
        """The task for ``model_id`` on the whole of ``references`` (images, names and labels) under ``config``."""
        return cls(manifest, model_id, references.images, references.names, config.to_json(), key, references.labels)

    @property
    def references(self) -> ReferenceSet:
        return ReferenceSet(self.images, self.names, self.labels)


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
        model = Zoo.open(task.manifest).load(task.model_id)
        started = time.perf_counter()
        field = field_of(model, task.references, config)
    except errors.GifvizError as error:
        return FieldResult(
            task.key,
            task.model_id,
            b"",
            str(config.device),
            time.perf_counter() - started,
            failure=(type(error).__name__, str(error)),
        )
    return FieldResult(
        key=task.key,
        model_id=task.model_id,
        blob=encode_field(field),
        device=str(resolve_device(config.device)),
        seconds=time.perf_counter() - started,
    )
