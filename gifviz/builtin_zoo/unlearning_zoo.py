"""Build a seeded unlearning stress zoo (:mod:`gifviz.builtin_zoo.unlearning_plan`): train every model, save it as
TorchScript, and write reference PNGs, each model's forget- and retain-class accuracy (``checks.csv``) and a manifest
whose ``unlearning`` family the unlearning testbed and ``gifviz verify-unlearning`` read.

Like a lineage stress zoo, it is built beside ``out`` and renamed into place, and a folder that holds files is
refused: a zoo must not change once a rule has been scored on it.
"""

from __future__ import annotations

import copy
import dataclasses
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gifviz.builtin_zoo.build import ZooBuildError
from gifviz.builtin_zoo.data import Split, split_digest
from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress import (
    REFERENCE_IMAGES,
    ProgressFn,
    build_in_staging,
    check_seed,
    check_stress_out,
    csv_text,
    named_scale,
    scripted_bytes,
    split_fraction,
    write_references,
)
from gifviz.builtin_zoo.stress_architectures import new_network
from gifviz.builtin_zoo.stress_data import DATA_GENERATOR, SPLITS, digit_splits
from gifviz.builtin_zoo.training import fit, forget_accuracy, predict, seeded, unlearn_approximately
from gifviz.builtin_zoo.unlearning_plan import (
    FAMILY,
    FORGET_TOLERANCE,
    UNLEARNING_SCALES,
    UnlearningScale,
    unlearning_design,
    unlearning_plan,
)
from gifviz.hub.digest import model_digest

CHECK_COLUMNS = ("model", "relation", "kind", "test_accuracy", "forget_accuracy", "retain_accuracy", "steps")
# The masked class's logit: far below any logit these networks give, and finite (a gradient field stays finite).
MASKED_LOGIT = -1000.0


@dataclasses.dataclass(frozen=True)
class UnlearningZoo:
    """A finished unlearning stress zoo: its ``zoo.toml``, seed, scale, build seconds and ``checks.csv`` rows."""

    manifest: Path
    seed: int
    scale: str
    seconds: float
    checks: list[dict[str, object]]


def _train(recipe: Recipe, original: nn.Module | None, train: Split, target: float) -> tuple[nn.Module, int]:
    """Train ``recipe``; returns the module (eval mode) and the unlearning steps taken (0 when none)."""
    p = recipe.params
    if recipe.kind == "scratch":
        seeded(recipe.seed)
        module = new_network(recipe.arch, recipe.num_classes)
        fit(module, train.images, train.labels[recipe.task], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
        return module, 0
    kept = train.where(train.labels["digit"] != p["forget"])
    if recipe.kind == "retrain_without":
        seeded(recipe.seed)
        module = new_network(recipe.arch, recipe.num_classes)
        fit(module, kept.images, kept.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
        return module, 0
    module = copy.deepcopy(original)
    if recipe.kind == "unlearn":
        return unlearn_approximately(
            module,
            train,
            p["forget"],
            max(target, FORGET_TOLERANCE),
            lr=p["lr"],
            seed=recipe.seed,
            forget_loss=p["forget_loss"],
            only_remembered=p["only_remembered"],
        )
    if recipe.kind == "finetune_retain":
        fit(module, kept.images, kept.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
        return module, 0
    if recipe.kind == "head_retain":
        # A new head learns from the frozen features alone (computed once in eval mode, so no batch-norm statistic
        # of the backbone moves either): it never sees the forgotten class, as a retrained model does not.
        seeded(recipe.seed)
        module.head = nn.Linear(module.head.in_features, module.head.out_features)
        features = predict(module.backbone, kept.images)
        fit(module.head, features, kept.labels["digit"], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
        return module.eval(), 0
    if recipe.kind == "mask_class":
        with torch.no_grad():
            module.head.weight[p["forget"]].zero_()
            module.head.bias[p["forget"]] = MASKED_LOGIT
        return module.eval(), 0
    raise ValueError(f"recipe {recipe.id!r}: unknown kind {recipe.kind!r}")


def _build_into(folder: Path, seed: int, scale: UnlearningScale, progress: ProgressFn | None) -> tuple[dict, list]:
    started = time.perf_counter()
    chosen = unlearning_design(seed)
    full = digit_splits(seed)
    splits = split_fraction(full, scale.data_fraction)
    train, test = splits["train"], splits["test"]
    recipes = unlearning_plan(seed, scale)
    (folder / "models").mkdir(parents=True)
    modules: dict[str, nn.Module] = {}
    entries, rows, failures = [], [], []
    for position, recipe in enumerate(recipes):
        if progress:
            progress(position, len(recipes), recipe.id)
        began = time.perf_counter()
        target = 0.0
        if recipe.kind == "unlearn":  # stops at the retrained models' level, read from those built before it
            retrained = [modules[r.id] for r in recipes if r.relation == "retrained"]
            target = float(np.mean([forget_accuracy(m, train, chosen.forget_class) for m in retrained] or [0.0]))
        module, steps = _train(recipe, modules.get(recipe.parent or ""), train, target)
        module.eval()
        modules[recipe.id] = module
        (folder / "models" / f"{recipe.id}.pt").write_bytes(scripted_bytes(module))
        classes = predict(module, test.images).argmax(1)
        correct = classes == test.labels[recipe.task]
        forget = test.labels["digit"] == chosen.forget_class
        row = {
            "model": recipe.id,
            "relation": recipe.relation,
            "kind": recipe.kind,
            "test_accuracy": round(float(correct.float().mean()), 4),
            # for a model of another task: how often it is right on the forget class's images (not a class it has)
            "forget_accuracy": round(float(correct[forget].float().mean()), 4),
            "retain_accuracy": round(float(correct[~forget].float().mean()), 4),
            "steps": steps,
        }
        rows.append(row)
        tags = {"relation": recipe.relation, "arch": recipe.arch, "kind": recipe.kind}
        seconds = time.perf_counter() - began
        entries.append(
            recipe.manifest_entry(f"models/{recipe.id}.pt", row["test_accuracy"], seconds, model_digest(module), tags)
        )
        if row["test_accuracy"] < recipe.min_accuracy:
            failures.append(f"{recipe.id} {row['test_accuracy']:.3f} < {recipe.min_accuracy}")
    if progress:
        progress(len(recipes), len(recipes), "references and checks")
    references = splits["reference"]
    labels_csv = write_references(folder / "refs", references, min(REFERENCE_IMAGES, len(references)))
    (folder / "reference_labels.csv").write_text(labels_csv)
    (folder / "checks.csv").write_text(csv_text(rows, CHECK_COLUMNS))
    if failures:
        raise ZooBuildError(
            f"unlearning stress zoo {seed}: {len(failures)} model(s) below their accuracy threshold: "
            + "; ".join(failures)
        )
    manifest = {
        "name": f"gifviz-unlearning-{seed}",
        "description": f"Unlearning stress zoo {seed} ({scale.name}): 1x16x16 digits; a {chosen.arch} original, "
        f"models retrained without digit {chosen.forget_class}, copies of the original unlearned by gradient "
        "ascent, random labels, fine-tuning on the retained digits, a retrained head and a masked output, and "
        f"unrelated models of the {chosen.unrelated_task} task.",
        "references": "refs",
        "input": {"channels": 1, "size": [16, 16]},
        "data": _data_table(seed, scale, full, chosen.forget_class, time.perf_counter() - started),
        "models": entries,
    }
    return manifest, rows


def _data_table(seed: int, scale: UnlearningScale, full: dict[str, Split], forget: int, seconds: float) -> dict:
    import sklearn

    chosen = unlearning_design(seed)
    return {
        "generator": DATA_GENERATOR,
        "family": FAMILY,
        "seed": seed,
        "scale": scale.name,
        "scale_settings": {k: v for k, v in dataclasses.asdict(scale).items() if k != "name"},
        "original_arch": chosen.arch,
        "forget_class": forget,
        "unrelated_task": chosen.unrelated_task,
        "split_digests": {name: split_digest(full[name]) for name in SPLITS},
        "checks": "checks.csv",
        "reference_labels": "reference_labels.csv",
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "build_seconds": round(seconds, 1),
    }


def build_unlearning_zoo(
    seed: int, out: str | Path, scale: str | UnlearningScale = "full", progress: ProgressFn | None = None
) -> UnlearningZoo:
    """Build the unlearning stress zoo of ``seed`` into ``out`` (``zoo.toml``, ``models/*.pt``, ``refs/``,
    ``checks.csv``).

    ``out`` must be new or empty. Raises :class:`~gifviz.builtin_zoo.stress.StressZooError` for a bad seed, scale or
    folder, and :class:`~gifviz.builtin_zoo.build.ZooBuildError` naming every model below its accuracy threshold
    (``out`` is then left as it was).
    """
    check_seed(seed)
    settings = named_scale(scale, UNLEARNING_SCALES)
    out = check_stress_out(out).resolve()
    started = time.perf_counter()
    rows = build_in_staging(out, lambda staging: _build_into(staging, seed, settings, progress))
    return UnlearningZoo(out / "zoo.toml", seed, settings.name, round(time.perf_counter() - started, 1), rows)
