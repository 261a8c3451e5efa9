"""Train one stress-zoo recipe with the built-in zoo's tools (fit, prune, extract), and say what it was trained on."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
from torch import nn

from gifviz.builtin_zoo.data import TASKS, Split
from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress_architectures import new_network
from gifviz.builtin_zoo.stress_data import Pool, natural_queries
from gifviz.builtin_zoo.training import extract, fit, fit_keeping_sparsity, prune_globally, seeded, sparsity


@dataclasses.dataclass(frozen=True)
class StressData:
    """The inputs of one zoo's build: its digit splits (``train``, ``test``, ``attacker``, ``reference``; images
    ``(N, 1, 16, 16)``), its seed (which draws the natural-image queries) and the natural pool's size."""

    seed: int
    splits: dict[str, Split]
    natural_pool: int

    def pool(self, name: str, seed: int) -> tuple[Pool, Split | None]:
        """The images named ``name`` (a recipe's ``data``) and, for digit pools, their labels."""
        if name == "natural":
            return Pool(name, natural_queries(self.seed, self.natural_pool)), None
        split_name = name.removeprefix("digits:")
        if split_name == "train-half":
            train = self.splits["train"]
            generator = torch.Generator().manual_seed(seed)
            half = train.subset(torch.randperm(len(train), generator=generator)[: len(train) // 2])
            return Pool(name, half.images), half
        split = self.splits[split_name]
        return Pool(name, split.images), split


def shift_and_shade(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A thief's augmentation of its queries ``(B, 1, 16, 16)`` at this size: one shift of up to 1 pixel per batch,
    brightness x U(0.8, 1.2) per image, Gaussian noise 0.02. The built-in zoo's ``jitter`` shifts by up to 3 pixels,
    a fifth of a 16-px digit, which left MLP students at half the accuracy they reach with this one."""
    dy, dx = torch.randint(-1, 2, (2,), generator=generator).tolist()
    shifted = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    brightness = torch.empty(len(images), 1, 1, 1).uniform_(0.8, 1.2, generator=generator)
    return (shifted * brightness + 0.02 * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def extract_16px(student: nn.Module, victim: nn.Module, pool: torch.Tensor, **settings: Any) -> tuple[nn.Module, int]:
    """Model extraction as :func:`gifviz.builtin_zoo.training.extract` (its training loop, answer losses and keyword
    ``settings``: ``answer``, ``epochs``, ``lr``, ``seed``, ``true_labels`` for a label thief's twin), with
    :func:`shift_and_shade` as the query augmentation: each batch of ``pool`` ``(N, 1, 16, 16)`` is augmented, sent
    to ``victim``, and the student learns its ``label`` or ``probabilities``. Returns the student and the queries."""
    return extract(student, victim, pool, augment=shift_and_shade, **settings)


def make_stress_model(
    recipe: Recipe, parents: dict[str, nn.Module], data: StressData
) -> tuple[nn.Module, dict[str, float], Pool]:
    """Train ``recipe``; returns the module (eval mode), metrics, and the images it trained on or queried with.

    ``parents`` maps ids to finished modules (the recipe's parent among them); they are copied, never changed.
    """
    p = recipe.params
    parent = parents[recipe.parent] if recipe.parent else None
    pool, labelled = data.pool(p["data"], recipe.seed)
    metrics: dict[str, float] = {}
    if recipe.kind == "scratch":
        seeded(recipe.seed)
        module = new_network(recipe.arch, recipe.num_classes)
        fit(module, pool.images, labelled.labels[recipe.task], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind == "finetune":
        module = copy.deepcopy(parent)
        fit(module, pool.images, labelled.labels[recipe.task], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind == "prune":
        module = prune_globally(copy.deepcopy(parent), p["amount"])
        fit_keeping_sparsity(
            module, pool.images, labelled.labels[recipe.task], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed
        )
        metrics["sparsity"] = round(sparsity(module), 4)
    elif recipe.kind == "transfer":
        module = copy.deepcopy(parent)
        seeded(recipe.seed)
        module.head = nn.Linear(module.head.in_features, TASKS[recipe.task])
        fit(module, pool.images, labelled.labels[recipe.task], epochs=p["epochs"], lr=p["lr"], seed=recipe.seed)
    elif recipe.kind in ("extract_label", "extract_prob"):
        module, pool, queries = _student(recipe, parent, pool)
        metrics["queries"] = queries
        metrics["query_images"] = len(pool.images)
    else:
        raise ValueError(f"recipe {recipe.id!r}: unknown kind {recipe.kind!r}")
    return module.eval(), metrics, pool


def _student(
    recipe: Recipe, victim: nn.Module, pool: Pool, labels: torch.Tensor | None = None
) -> tuple[nn.Module, Pool, int]:
    """A thief of ``recipe`` (or, given the pool's ``labels``, its twin): the student, its query images, queries."""
    p = recipe.params
    # Budgets nest: a smaller budget queries a prefix of the same (shuffled) pool.
    count = max(1, round(p["budget"] * len(pool.images)))
    pool = Pool(pool.name, pool.images[:count])
    seeded(recipe.seed)
    student = new_network(recipe.arch, recipe.num_classes)
    module, queries = extract_16px(
        student,
        victim,
        pool.images,
        answer=p["answers"],
        epochs=p["epochs"],
        lr=p["lr"],
        seed=recipe.seed,
        true_labels=None if labels is None else labels[:count],
    )
    return module, pool, queries


def label_thief_twin(recipe: Recipe, data: StressData) -> nn.Module:
    """The twin of a label-only thief on digits (``recipe``: kind ``extract_label``, data ``digits:*``): the thief's
    architecture, seed, query images, augmentation and steps, trained on the images' true classes instead of the
    victim's answers (:func:`gifviz.builtin_zoo.training.extract`'s ``true_labels``). Eval mode."""
    if recipe.kind != "extract_label" or not recipe.params["data"].startswith("digits:"):
        raise ValueError(f"recipe {recipe.id!r}: only a label-only thief on digits has a true-label twin")
    pool, labelled = data.pool(recipe.params["data"], recipe.seed)
    module, _, _ = _student(recipe, nn.Identity(), pool, labelled.labels[recipe.task])
    return module.eval()
