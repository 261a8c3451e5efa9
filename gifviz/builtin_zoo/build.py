"""Build the built-in zoo: train every recipe, check its accuracy, write safetensors, references and a manifest."""

from __future__ import annotations

import copy
import dataclasses
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from gifviz.builtin_zoo.data import DATA_GENERATOR, DATA_SEED, SPLITS, TASKS, Split, split_digest, zoo_data
from gifviz.builtin_zoo.recipes import EXTRACTION_ANSWERS, FORGET_CLASS, TRANSFER_TASK, Recipe, Scale, plan
from gifviz.builtin_zoo.training import (
    extract,
    features,
    fit,
    fit_keeping_sparsity,
    forget_accuracy,
    predict,
    probe_accuracy,
    prune_globally,
    seeded,
    sparsity,
    unlearn_approximately,
)
from gifviz.errors import GifvizError
from gifviz.hub.architectures import build_architecture
from gifviz.hub.digest import model_digest
from gifviz.space import Preprocess, PreprocessedModel

REFERENCE_IMAGES = 128
# Architectures that need a larger input than the zoo's 32 px: torchvision's ImageNet-shaped networks downsample 32x.
PREPROCESS = {"squeezenet1_1": Preprocess(size=(64, 64))}


class ZooBuildError(GifvizError):
    """A zoo model missed its accuracy threshold (or a recipe could not run)."""


@dataclasses.dataclass
class BuiltModel:
    recipe: Recipe
    module: nn.Module
    accuracy: float
    metrics: dict[str, float]
    seconds: float


def _fraction(split: Split, fraction: float, seed: int) -> Split:
    generator = torch.Generator().manual_seed(seed)
    count = int(len(split) * fraction)
    return split.subset(torch.randperm(len(split), generator=generator)[:count])


def _new(recipe: Recipe) -> nn.Module:
    seeded(recipe.seed)
    return build_architecture(recipe.arch, recipe.num_classes, recipe.id)


def _runnable(module: nn.Module, arch: str) -> nn.Module:
    """The module as trained and evaluated: through its preprocess when the architecture needs one."""
    return PreprocessedModel(module, PREPROCESS[arch]) if arch in PREPROCESS else module


def make_model(recipe: Recipe, built: dict[str, BuiltModel], data: dict[str, Split]) -> tuple[nn.Module, dict]:
    """Train one recipe; returns the module and extra metrics."""
    train, attacker = data["train"], data["attacker"]
    p = recipe.params
    parent = built[recipe.parent].module if recipe.parent else None
    metrics: dict[str, float] = {}
    if recipe.kind == "scratch":
        module = _new(recipe)
        fit(
            _runnable(module, recipe.arch),
            train.images,
            train.labels[recipe.task],
            epochs=p["epochs"],
            lr=p["lr"],
            seed=recipe.seed,
        )
    elif recipe.kind == "finetune":
        module = copy.deepcopy(parent)
        subset = _fraction(train, p["fraction"], recipe.seed)
        fit(module, subset.images, subset.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind == "prune":
        module = prune_globally(copy.deepcopy(parent), p["amount"])
        subset = _fraction(train, p["fraction"], recipe.seed)
        fit_keeping_sparsity(
            module, subset.images, subset.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed
        )
        metrics["sparsity"] = sparsity(module)
    elif recipe.kind in EXTRACTION_ANSWERS:
        # The thief queries with its own images and the victim's training images, without their labels.
        pool = torch.cat([attacker.images, train.images])
        module, metrics["queries"] = extract(
            _new(recipe),
            parent,
            pool,
            answer=EXTRACTION_ANSWERS[recipe.kind],
            epochs=p["epochs"],
            lr=p["lr"],
            seed=recipe.seed,
            rounds=p.get("rounds", 1),
        )
    elif recipe.kind == "transfer":
        module = copy.deepcopy(parent)
        seeded(recipe.seed)
        module.head = nn.Linear(module.head.in_features, TASKS[TRANSFER_TASK])
        fit(module, train.images, train.labels[TRANSFER_TASK], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind == "retrain_without":
        module = _new(recipe)
        kept = train.where(train.labels["digit"] != p["forget"])
        fit(module, kept.images, kept.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind == "unlearn":
        retrained = [b for b in built.values() if b.recipe.relation == "retrained"]
        target = (
            float(np.mean([forget_accuracy(b.module, train, FORGET_CLASS) for b in retrained])) if retrained else 0.05
        )
        module, steps = unlearn_approximately(
            copy.deepcopy(parent), train, p["forget"], target, lr=p["lr"], seed=recipe.seed
        )
        metrics["unlearning_steps"] = steps
        metrics["target_forget_accuracy_train"] = round(target, 4)
    else:
        raise ZooBuildError(f"recipe {recipe.id!r}: unknown kind {recipe.kind!r}")
    return module.eval(), metrics


def round_to_half(module: nn.Module) -> nn.Module:
    """Round every floating parameter and buffer to float16 precision (kept as float32 in memory).

    The zoo ships float16 weights (half the size); rounding before evaluation makes the recorded accuracies those of
    the shipped weights exactly, and loading them back into float32 modules is lossless.
    """
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return module


def shipped_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as written to disk: floating tensors in float16."""
    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in module.state_dict().items()}


def evaluate(module: nn.Module, recipe: Recipe, test: Split) -> tuple[float, dict[str, float]]:
    """Test accuracy on the recipe's task; digit models also report forget/retain-class accuracy."""
    runnable = _runnable(module, recipe.arch)
    logits = predict(runnable, test.images)
    correct = logits.argmax(1) == test.labels[recipe.task]
    metrics: dict[str, float] = {}
    if recipe.family == "unlearning" and recipe.task == "digit":
        forget = test.labels["digit"] == FORGET_CLASS
        metrics["forget_accuracy"] = round(float(correct[forget].float().mean()), 4)
        metrics["retain_accuracy"] = round(float(correct[~forget].float().mean()), 4)
    return float(correct.float().mean()), metrics


def transferability(built: dict[str, BuiltModel], data: dict[str, Split]) -> tuple[list[str], np.ndarray]:
    """Ground truth for task relatedness: probe accuracy of task-model A's frozen features for task B, ``(T, T)``."""
    models = {b.recipe.task: b.module for b in built.values() if b.recipe.family == "tasks"}
    tasks = [task for task in TASKS if task in models]
    train, test = _fraction(data["train"], 0.5, DATA_SEED), data["test"]
    matrix = np.zeros((len(tasks), len(tasks)))
    for a, source in enumerate(tasks):
        train_features = features(models[source], train.images).numpy()
        test_features = features(models[source], test.images).numpy()
        for b, target in enumerate(tasks):
            matrix[a, b] = probe_accuracy(
                train_features, train.labels[target].numpy(), test_features, test.labels[target].numpy()
            )
    return tasks, matrix


def write_references(folder: Path, split: Split, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        pixels = (split.images[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        name = f"ref_{i:03d}.png"
        Image.fromarray(pixels).save(folder / name)
        names.append(name)
    return names


def _entry(b: BuiltModel, digest: str) -> dict[str, Any]:
    r = b.recipe
    tags = {"family": r.family, "relation": r.relation, "arch": r.arch}
    entry = r.manifest_entry(r.file_name, b.accuracy, b.seconds, digest, tags)
    if b.metrics:
        entry["metrics"] = b.metrics
    if r.arch in PREPROCESS:
        entry["preprocess"] = {k: v for k, v in PREPROCESS[r.arch].to_dict().items() if v is not None}
    return entry


ProgressFn = Callable[[int, int, str], None]


def build_zoo(
    out: str | Path, scale: Scale, families: list[str] | None = None, progress: ProgressFn | None = None
) -> Path:
    """Train the zoo into ``out`` (``zoo.toml``, ``models/``, ``refs/``, ``transferability.csv``); returns the manifest.

    Raises :class:`ZooBuildError` naming every model below its accuracy threshold (after building all of them).
    """
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    full = zoo_data()
    data = dict(full)
    if scale.train_fraction < 1.0:
        data["train"] = _fraction(full["train"], scale.train_fraction, DATA_SEED)
        # the thieves' pool too: two-round extraction on the whole attacker split was over half a smoke build
        data["attacker"] = _fraction(full["attacker"], scale.train_fraction, DATA_SEED + 1)
    recipes = plan(scale, families)
    built: dict[str, BuiltModel] = {}
    for position, recipe in enumerate(recipes):
        if progress:
            progress(position, len(recipes), recipe.id)
        t0 = time.perf_counter()
        module, metrics = make_model(recipe, built, data)
        round_to_half(module)  # children start from the shipped (rounded) parent, as a user's would
        accuracy, eval_metrics = evaluate(module, recipe, data["test"])
        built[recipe.id] = BuiltModel(recipe, module, accuracy, {**metrics, **eval_metrics}, time.perf_counter() - t0)
        save_file(shipped_state(module), str(out / recipe.file_name))
    if progress:
        progress(len(recipes), len(recipes), "transferability")
    manifest: dict[str, Any] = {
        "name": "gifviz-builtin",
        "description": "Built-in offline zoo: coloured digits on procedural backgrounds, 3x32x32; lineage, tasks and "
        "unlearning families with relations known by construction.",
        "references": "refs",
        "input": {"channels": 3, "size": [32, 32]},
    }
    data_info: dict[str, Any] = {
        "generator": DATA_GENERATOR,
        "seed": DATA_SEED,
        "scale": scale.name,
        "forget_class": FORGET_CLASS,
        "transfer_task": TRANSFER_TASK,
        "splits": {name: len(full[name]) for name in SPLITS},
        "split_digests": {name: split_digest(full[name]) for name in SPLITS},
        "train_fraction": scale.train_fraction,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if any(b.recipe.family == "tasks" for b in built.values()):
        tasks, matrix = transferability(built, data)
        lines = ["source_task," + ",".join(tasks)]
        lines += [f"{a}," + ",".join(f"{v:.4f}" for v in row) for a, row in zip(tasks, matrix, strict=True)]
        (out / "transferability.csv").write_text("\n".join(lines) + "\n")
        data_info["transferability"] = "transferability.csv"
    write_references(out / "refs", data["reference"], min(REFERENCE_IMAGES, len(data["reference"])))
    data_info["build_seconds"] = round(time.perf_counter() - started, 1)
    manifest["data"] = data_info
    manifest["models"] = [_entry(b, model_digest(b.module, PREPROCESS.get(b.recipe.arch))) for b in built.values()]
    path = out / "zoo.toml"
    path.write_text(tomli_w.dumps(manifest))
    failures = [
        f"{b.recipe.id} {b.accuracy:.3f} < {b.recipe.min_accuracy}"
        for b in built.values()
        if b.accuracy < b.recipe.min_accuracy
    ]
    if failures:
        raise ZooBuildError(f"{len(failures)} model(s) below their accuracy threshold: {'; '.join(failures)}")
    return path
