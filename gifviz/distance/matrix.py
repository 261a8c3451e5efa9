"""DistanceMatrix: labelled ``(M, M)`` distances with their provenance, and their CSV/JSON form."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gifviz._version import __version__
from gifviz.errors import GifvizError
from gifviz.outputs import write_files


@dataclasses.dataclass(frozen=True)
class DistanceMatrix:
    """Pairwise distances between models.

    Attributes:
        labels: ``M`` model ids, in row order.
        values: ``(M, M)`` float64, symmetric, zero diagonal.
        metric: the distance variant (``cosine``, ...).
        provenance: what produced it: FieldConfig, reference names, model digests, ... (written beside every CSV).
    """

    labels: tuple[str, ...]
    values: np.ndarray
    metric: str = "cosine"
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        m = len(self.labels)
        if self.values.shape != (m, m):
            raise GifvizError(f"a distance matrix for {m} labels must be ({m}, {m}); got {self.values.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise GifvizError(f"model {label!r} is not in this distance matrix; it has {list(self.labels)}") from None

    def distance(self, a: str, b: str) -> float:
        return float(self.values[self.index(a), self.index(b)])

    def subset(self, labels: Sequence[str]) -> DistanceMatrix:
        """The rows and columns of ``labels``, in that order."""
        rows = [self.index(label) for label in labels]
        return dataclasses.replace(self, labels=tuple(labels), values=self.values[np.ix_(rows, rows)].copy())

    def comparable(self) -> tuple[DistanceMatrix, tuple[str, ...]]:
        """The largest set of models every pair of which has a distance, and the models left out.

        Methods that compare outputs class by class have no distance between models of other output classes (NaN);
        clustering and embeddings need every pair. Models are left out greedily, the one missing most distances
        first (ties: the later one), which keeps the largest group of models that share their outputs.
        """
        kept = list(range(len(self.labels)))
        while kept:
            missing = np.isnan(self.values[np.ix_(kept, kept)]).sum(axis=1)
            if not missing.any():
                break
            worst = max(range(len(kept)), key=lambda k: (missing[k], k))
            kept.pop(worst)
        labels = [self.labels[k] for k in kept]
        dropped = tuple(label for label in self.labels if label not in labels)
        return self.subset(labels), dropped

    def full_provenance(self) -> dict[str, Any]:
        """Provenance with the gifviz version and the creation date filled in."""
        info = {"gifviz_version": __version__, "metric": self.metric, "models": list(self.labels)}
        info.update(self.provenance)
        info.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        return info

    def to_csv_text(self) -> str:
        """Header ``model,<id1>,...`` then one row ``<id>,<d1>,...`` per model (17 significant digits)."""
        lines = [",".join(["model", *map(_csv_field, self.labels)])]
        for label, row in zip(self.labels, self.values, strict=True):
            lines.append(",".join([_csv_field(label), *(format(float(v), ".17g") for v in row)]))
        return "\n".join(lines) + "\n"

    def provenance_json(self) -> str:
        return json.dumps(self.full_provenance(), indent=2, sort_keys=True) + "\n"

    def to_csv(self, path: str | Path) -> tuple[Path, Path]:
        """Write the CSV and its provenance sidecar ``<path>.json``; returns both paths.

        Both are written atomically and together (:func:`gifviz.outputs.write_files`): a full disk leaves the old
        pair, never a partial CSV or a CSV beside another run's provenance. Raises :class:`~gifviz.outputs.OutputError`.
        """
        path = Path(path)
        sidecar = path.with_name(path.name + ".json")
        write_files({path: self.to_csv_text(), sidecar: self.provenance_json()})
        return path, sidecar

    @classmethod
    def from_csv(cls, path: str | Path) -> DistanceMatrix:
        """Read a CSV written by :meth:`to_csv` (and its sidecar, when present)."""
        path = Path(path)
        try:
            with path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            labels = tuple(rows[0][1:])
            values = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
        except (OSError, IndexError, ValueError) as error:
            raise GifvizError(f"{path} is not a gifviz distance CSV ({error})") from None
        sidecar = path.with_name(path.name + ".json")
        provenance = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        return cls(labels=labels, values=values, metric=provenance.get("metric", "cosine"), provenance=provenance)


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
