"""Check a built zoo: every model loads, its digest matches the manifest, its accuracy on the regenerated test split
matches the recorded value, and the data generator still produces the recorded splits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from gifviz.builtin_zoo.data import split_digest, zoo_data
from gifviz.builtin_zoo.training import predict
from gifviz.errors import GifvizError
from gifviz.hub.spec import ModelSpec
from gifviz.hub.zoo import Zoo


@dataclasses.dataclass
class VerifyReport:
    checked: int = 0
    measured: int = 0
    lines: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


def one_per_architecture_and_task(specs: Iterable[ModelSpec]) -> list[str]:
    """The id of the first model of each (architecture, task) pair among ``specs``, in their order: what ``gifviz zoo
    verify --quick`` re-measures. Every architecture's forward pass runs on every task it has labels for (16 of the
    built-in zoo's 94 models)."""
    first: dict[tuple[str, str], str] = {}
    for spec in specs:
        first.setdefault((spec.arch, spec.task), spec.id)
    return list(first.values())


def verify_zoo(manifest: str | Path, tolerance: float = 0.002, quick: bool = False) -> VerifyReport:
    """Load every model of ``manifest`` and check its digest; re-measure the accuracy of every model, or with
    ``quick`` of :func:`one_per_architecture_and_task`'s only (the forward passes are nearly all of the cost, and a
    digest that matches already proves the weights). Differences go to ``problems``."""
    zoo = Zoo.open(manifest)
    measure = set(one_per_architecture_and_task(zoo.specs)) if quick else None
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
        if measure is not None and spec.id not in measure:
            continue
        report.measured += 1
        logits = predict(model.wrapped(), test.images)
        accuracy = float((logits.argmax(1) == test.labels[spec.task]).float().mean())
        recorded = float(spec.extra.get("accuracy", float("nan")))
        status = "ok" if abs(accuracy - recorded) <= tolerance else "MISMATCH"
        report.lines.append(f"{spec.id:28s} {spec.task:10s} recorded {recorded:.4f} measured {accuracy:.4f} {status}")
        if status != "ok":
            report.problems.append(f"model {spec.id!r}: accuracy {accuracy:.4f} != recorded {recorded:.4f}")
    return report
