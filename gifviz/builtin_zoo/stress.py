"""Build a seeded stress zoo: train every model of :func:`~gifviz.builtin_zoo.stress_plan.stress_plan`, save it as
TorchScript (as an outside zoo ships), and write reference PNGs, the zoo's own checks and a manifest with lineage.

The zoo is built in a hidden folder beside ``out`` and renamed into place when complete, so ``out`` either holds a
whole zoo or nothing. A folder that already holds files is refused: a stress zoo must not change once a method has
been scored on it, so rebuilding means a new folder.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import platform
import secrets
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tomli_w
import torch
from PIL import Image
from torch import nn

from gifviz.builtin_zoo.build import ZooBuildError
from gifviz.builtin_zoo.data import Split, split_digest
from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress_checks import CHECK_COLUMNS, Predictions, agreement_rows, agreement_summary
from gifviz.builtin_zoo.stress_data import (
    DATA_GENERATOR,
    HELD_OUT_PHOTOS,
    QUERY_PHOTOS,
    SPLITS,
    digit_splits,
    natural_held_out,
)
from gifviz.builtin_zoo.stress_plan import STRESS_SCALES, StressScale, design, stress_plan
from gifviz.builtin_zoo.stress_train import StressData, make_stress_model
from gifviz.builtin_zoo.training import predict
from gifviz.errors import GifvizError
from gifviz.hub.digest import model_digest
from gifviz.outputs import write_file

REFERENCE_IMAGES = 256  # the testbeds' largest sweep point
ProgressFn = Callable[[int, int, str], None]
Built = TypeVar("Built")


class StressZooError(GifvizError):
    """A stress zoo cannot be built as asked (seed, scale or output folder)."""


@dataclasses.dataclass(frozen=True)
class StressZoo:
    """A finished stress zoo.

    Attributes:
        manifest: its ``zoo.toml``.
        seed, scale: what it was built from.
        seconds: wall-clock build time.
        counts: models per group (relation; thieves split by the data they queried).
        checks: :func:`~gifviz.builtin_zoo.stress_checks.agreement_summary` rows.
    """

    manifest: Path
    seed: int
    scale: str
    seconds: float
    counts: dict[str, int]
    checks: list[dict[str, object]]


ScaleT = TypeVar("ScaleT")


def named_scale(scale: str | ScaleT, scales: dict[str, ScaleT]) -> ScaleT:
    """``scale`` itself, or the scale of ``scales`` it names; one line naming the choices otherwise."""
    if not isinstance(scale, str):
        return scale
    if scale not in scales:
        raise StressZooError(f"unknown stress-zoo scale {scale!r}; choose one of {', '.join(scales)}")
    return scales[scale]


def check_seed(seed: object) -> int:
    """``seed`` as a zoo's seed (a whole number >= 0); one line otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise StressZooError(f"the seed must be a whole number >= 0; got {seed!r}")
    return seed


def check_stress_out(out: str | Path) -> Path:
    """``out`` as a folder a new zoo may be moved into: absent, or an empty folder; one line otherwise."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StressZooError(f"--out {out} is a file; give the path of a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise StressZooError(
            f"--out {out} already holds files; a stress zoo is never rebuilt in place (it must not change after a "
            "method was scored on it): give a new folder, or delete this one first"
        )
    return out


def build_in_staging(out: Path, fill: Callable[[Path], tuple[dict, Built]]) -> Built:
    """Build a zoo into a hidden folder beside ``out`` with ``fill(staging)`` (which writes the models and returns
    the manifest and what the caller reports), write its ``zoo.toml`` and rename it into place: ``out`` holds a whole
    zoo or is left as it was. Returns what ``fill`` returned beside the manifest.

    Training runs on one thread: these networks are too small to gain from more, a shared CPU makes OpenMP threads
    spin (a ResNet step measured 45 ms on one thread, 1.6 s on two beside other work), and a fixed count keeps builds
    identical."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.building-{secrets.token_hex(4)}"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        manifest, built = fill(staging)
        write_file(staging / "zoo.toml", tomli_w.dumps(manifest))
        check_stress_out(out)  # nobody filled it meanwhile
        if out.is_dir():
            out.rmdir()
        staging.rename(out)
    finally:
        torch.set_num_threads(threads)
        if staging.exists():
            shutil.rmtree(staging)
    return built


def split_fraction(splits: dict[str, Split], fraction: float) -> dict[str, Split]:
    if fraction >= 1.0:
        return splits
    # Splits are shuffled when made, so a prefix keeps every digit.
    return {name: s.subset(torch.arange(max(10, int(len(s) * fraction)))) for name, s in splits.items()}


def scripted_bytes(module: nn.Module) -> bytes:
    """``module`` compiled with ``torch.jit.script`` and saved: the bytes of a stress zoo's model file."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream but still the format
        torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def _entry(recipe: Recipe, accuracy: float, metrics: dict[str, float], extra: dict[str, Any]) -> dict[str, Any]:
    tags = {"relation": recipe.relation, "arch": recipe.arch, "data": recipe.params["data"]}
    entry = recipe.manifest_entry(
        f"models/{recipe.id}.pt", accuracy, extra["seconds"], extra["digest"], tags, extra["recipe"]
    )
    if metrics:
        entry["metrics"] = metrics
    return entry


def write_references(folder: Path, split: Split, count: int) -> str:
    """PNGs ``ref_000.png``... of the first ``count`` reference digits; returns ``name,digit`` CSV lines."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["image,digit"]
    for i in range(count):
        pixels = (split.images[i, 0].numpy() * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"ref_{i:03d}.png")
        lines.append(f"ref_{i:03d}.png,{int(split.labels['digit'][i])}")
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _group(recipe: Recipe) -> str:
    return f"{recipe.relation} ({recipe.params['data']})" if recipe.relation.startswith("extract") else recipe.relation


@dataclasses.dataclass(frozen=True)
class Trained:
    """One recipe trained and written: its module (eval mode), test accuracy, predicted classes on the test split
    ``(N,)`` and manifest entry."""

    module: nn.Module
    accuracy: float
    test_classes: torch.Tensor
    entry: dict[str, Any]


def train_into(folder: Path, recipe: Recipe, parents: dict[str, nn.Module], data: StressData) -> Trained:
    """Train ``recipe`` (its parent among ``parents``, never changed), write ``folder/models/<id>.pt`` and return it
    with its manifest entry; what every stress-zoo model goes through, in a build or added to a zoo later."""
    started = time.perf_counter()
    module, metrics, pool = make_stress_model(recipe, parents, data)
    test = data.splits["test"]
    test_classes = predict(module, test.images).argmax(1)
    accuracy = float((test_classes == test.labels[recipe.task]).float().mean())
    (folder / "models" / f"{recipe.id}.pt").write_bytes(scripted_bytes(module))
    extra = {
        "recipe": {"data_images": len(pool.images), "data_digest": pool.digest},
        "digest": model_digest(module),  # what the hub computes for the TorchScript file (same state dict)
        "seconds": round(time.perf_counter() - started, 1),
    }
    return Trained(module, accuracy, test_classes, _entry(recipe, accuracy, metrics, extra))


def _build_into(folder: Path, seed: int, scale: StressScale, progress: ProgressFn | None) -> tuple[dict, list, list]:
    """Train and write every model into ``folder``; returns the manifest, the check rows and the failures."""
    started = time.perf_counter()
    full = digit_splits(seed)
    data = StressData(seed, split_fraction(full, scale.data_fraction), scale.natural_pool)
    held_out = natural_held_out(seed)
    recipes = stress_plan(seed, scale)
    modules: dict[str, nn.Module] = {}
    predictions: dict[str, Predictions] = {}
    accuracies: dict[str, float] = {}
    entries, failures = [], []
    (folder / "models").mkdir(parents=True)
    for position, recipe in enumerate(recipes):
        if progress:
            progress(position, len(recipes), recipe.id)
        trained = train_into(folder, recipe, modules, data)
        predictions[recipe.id] = Predictions(trained.test_classes, predict(trained.module, held_out).argmax(1))
        modules[recipe.id] = trained.module
        accuracies[recipe.id] = trained.accuracy
        entries.append(trained.entry)
        if trained.accuracy < recipe.min_accuracy:
            failures.append(f"{recipe.id} {trained.accuracy:.3f} < {recipe.min_accuracy}")
    if progress:
        progress(len(recipes), len(recipes), "references and checks")
    references = data.splits["reference"]
    labels_csv = write_references(folder / "refs", references, min(REFERENCE_IMAGES, len(references)))
    (folder / "reference_labels.csv").write_text(labels_csv)
    rows = agreement_rows(recipes, predictions, accuracies)
    (folder / "checks.csv").write_text(csv_text(rows, CHECK_COLUMNS))
    chosen = design(seed)
    manifest = {
        "name": f"gifviz-stress-{seed}",
        "description": f"Stress zoo {seed} ({scale.name}): 1x16x16 digits; sources {', '.join(chosen.source_archs)}; "
        f"fine-tuned, pruned, transfer ({chosen.transfer_task}), probability and label-only thieves of several "
        "architectures (label-only ones also on natural images only), independents of several architectures.",
        "references": "refs",
        "input": {"channels": 1, "size": [16, 16]},
        "data": _data_table(seed, scale, full, data, time.perf_counter() - started),
        "models": entries,
    }
    return manifest, rows, failures


def _data_table(seed: int, scale: StressScale, full: dict[str, Split], data: StressData, seconds: float) -> dict:
    import skimage
    import sklearn

    chosen = design(seed)
    return {
        "generator": DATA_GENERATOR,
        "seed": seed,
        "scale": scale.name,
        "scale_settings": {k: v for k, v in dataclasses.asdict(scale).items() if k != "name"},
        "source_archs": list(chosen.source_archs),
        "transfer_task": chosen.transfer_task,
        "splits": {name: len(data.splits[name]) for name in SPLITS},
        "split_digests": {name: split_digest(full[name]) for name in SPLITS},
        "natural_query_photos": list(QUERY_PHOTOS),
        "natural_held_out_photos": list(HELD_OUT_PHOTOS),
        "natural_pool": scale.natural_pool,
        "checks": "checks.csv",
        "reference_labels": "reference_labels.csv",
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skimage": skimage.__version__,
        "python": platform.python_version(),
        "build_seconds": round(seconds, 1),
    }


def build_stress_zoo(
    seed: int, out: str | Path, scale: str | StressScale = "full", progress: ProgressFn | None = None
) -> StressZoo:
    """Build the stress zoo of ``seed`` into ``out`` (``zoo.toml``, ``models/*.pt``, ``refs/``, ``checks.csv``).

    ``out`` must be new or empty. Raises :class:`StressZooError` for a bad seed, scale or folder, and
    :class:`~gifviz.builtin_zoo.build.ZooBuildError` naming every model below its accuracy threshold (``out`` is
    then left as it was).
    """
    check_seed(seed)
    settings = named_scale(scale, STRESS_SCALES)
    out = check_stress_out(out).resolve()
    started = time.perf_counter()

    def fill(staging: Path) -> tuple[dict, list]:
        manifest, rows, failures = _build_into(staging, seed, settings, progress)
        if failures:
            raise ZooBuildError(
                f"stress zoo {seed}: {len(failures)} model(s) below their accuracy threshold: {'; '.join(failures)}"
            )
        return manifest, rows

    rows = build_in_staging(out, fill)
    counts: dict[str, int] = {}
    for recipe in stress_plan(seed, settings):
        counts[_group(recipe)] = counts.get(_group(recipe), 0) + 1
    return StressZoo(
        out / "zoo.toml", seed, settings.name, round(time.perf_counter() - started, 1), counts, agreement_summary(rows)
    )
