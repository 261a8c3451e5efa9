"""Fields to and from ``.npz`` files (for the ``gifviz field`` command and for sharing one field)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.field.result import Field
from gifviz.outputs import write_file


def save_field_npz(field: Field, path: str | Path, metadata: dict | None = None) -> Path:
    """Write ``field`` (values ``(N, S, D)`` float32 and everything needed to read it) to ``path``.

    The JSON ``metadata`` entry holds the model id, map shape, reference names, the FieldConfig, ``queries`` (the
    model queries a zeroth-order field spent, when counted) and the caller's ``metadata``.

    Atomic (:func:`gifviz.outputs.write_file`): a failed write keeps what ``path`` held; raises
    :class:`~gifviz.outputs.OutputError`.
    """
    path = Path(path)
    info = {
        "model_id": field.model_id,
        "map_shape": list(field.map_shape),
        "reference_names": list(field.reference_names),
        "field_config": field.config.to_dict(),
        **({"queries": field.queries} if field.queries is not None else {}),
        **(metadata or {}),
    }
    arrays = {
        "values": field.values.numpy(),
        "alphas": field.alphas.numpy(),
        "endpoint_scores": field.endpoint_scores.numpy(),
        "baseline_scores": field.baseline_scores.numpy(),
        "metadata": np.array(json.dumps(info, sort_keys=True)),
    }
    if field.targets is not None:
        arrays["targets"] = field.targets.numpy()
    return write_file(path, lambda handle: np.savez(handle, **arrays))


def load_field_npz(path: str | Path) -> tuple[Field, dict]:
    """Read a field written by :func:`save_field_npz`; returns it with its metadata."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["metadata"]))
            targets = torch.from_numpy(data["targets"]) if "targets" in data else None
            field = Field(
                values=torch.from_numpy(data["values"]),
                map_shape=tuple(info["map_shape"]),
                alphas=torch.from_numpy(data["alphas"]),
                targets=targets,
                endpoint_scores=torch.from_numpy(data["endpoint_scores"]),
                baseline_scores=torch.from_numpy(data["baseline_scores"]),
                config=FieldConfig.from_dict(info["field_config"]),
                reference_names=tuple(info["reference_names"]),
                model_id=info["model_id"],
                queries=int(info["queries"]) if info.get("queries") is not None else None,
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise GifvizError(f"{path} is not a readable gifviz field file ({error}); compute it again") from None
    return field, info
