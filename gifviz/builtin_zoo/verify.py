"""Check a built zoo: every model loads, its digest matches the manifest, its accuracy on the regenerated test split
matches the recorded value, and the data generator still produces the recorded splits."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gifviz.builtin_zoo.data import split_digest, zoo_data
from gifviz.builtin_zoo.training import predict
from gifviz.errors import GifvizError
from gifviz.hub.zoo import Zoo


@dataclasses.dataclass
class VerifyReport:
    checked: int = 0
    lines: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


def verify_zoo(manifest: str | Path, tolerance: float = 0.002) -> VerifyReport:
    """Load and re-measure every model of ``manifest``; differences go to ``problems``."""
    zoo = Zoo.open(manifest)
    report = VerifyReport()
    data = zoo_data()
    for name, expected in zoo.manifest.data.get("split_digests", {}).items():
        if split_digest(data[name]) != expected:
            report.problems.append(f"split {name!r} differs from the one the zoo was built on (data generator changed)")
    test = data["test"]
    for spec in zoo.specs:
        try:
            model = zoo.load(spec.id)
        except GifvizError as error:
            report.problems.append(str(error))
            continue
        report.checked += 1
        recorded_digest = spec.extra.get("digest")
        if recorded_digest and recorded_digest != model.digest:
            report.problems.append(f"model {spec.id!r}: digest {model.digest[:12]} != manifest {recorded_digest[:12]}")
        logits = predict(model.wrapped(), test.images)
        accuracy = float((logits.argmax(1) == test.labels[spec.task]).float().mean())
        recorded = float(spec.extra.get("accuracy", float("nan")))
        status = "ok" if abs(accuracy - recorded) <= tolerance else "MISMATCH"
        report.lines.append(f"{spec.id:28s} {spec.task:10s} recorded {recorded:.4f} measured {accuracy:.4f} {status}")
        if status != "ok":
            report.problems.append(f"model {spec.id!r}: accuracy {accuracy:.4f} != recorded {recorded:.4f}")
    return report
