"""The design of a seeded unlearning stress zoo: an original digit model, models retrained without one class, and
copies of the original that approximate unlearning by the common shortcuts.

The built-in zoo's unlearning family is one original with one kind of approximate unlearning. A verifier's rule must
hold for the original's architecture, the class forgotten and the unlearning method it is not tuned on, so the seed
chooses the original's architecture (one of the stress sources'), the forget class and the other task of the
unrelated models, and every zoo holds each of these shortcuts (truth: still the original, ``unlearned``):

- ``ga``: gradient ascent on the forget class's images the model still recognises (in training mode), with descent on
  retained digits, until the forget-class accuracy falls to the retrained models' level (:data:`FORGET_TOLERANCE` at
  least; the built-in zoo's kind, bounded), at two learning rates;
- ``rl``: the same loop with each such image taught a random other class (random-label unlearning);
- ``ft``: fine-tuning on the retained digits only, for one and three epochs (forgetting by neglect);
- ``head``: a new classifier head trained on the retained digits over the original's frozen features;
- ``mask``: the forget class's output fixed far below the others (the original's function everywhere else).

Gold standard (truth: ``like retraining``): ``retrained`` models of the original's architecture, trained from scratch
without the forget class with other seeds. ``unrelated`` models of another task complete the unlearning testbed's
order (unlearned < retrained < unrelated). The design is fixed before any rule is scored on a zoo.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress_data import STREAM
from gifviz.builtin_zoo.stress_plan import SOURCE_ARCHS, TRANSFER_OK, TRANSFER_TASKS, _scratch_ok

FAMILY = "unlearning"
TASK = "digit"
UNRELATED_ARCHS = ("mlp", "cnn_wide", "cnn_k5", "resnet_tiny")
# (id, kind, settings): each shortcut at the strengths the module docstring names.
SHORTCUTS = (
    ("ga-1", "unlearn", {"forget_loss": "ascent", "lr": 3e-3, "only_remembered": True}),
    ("ga-2", "unlearn", {"forget_loss": "ascent", "lr": 6e-3, "only_remembered": True}),
    ("rl-1", "unlearn", {"forget_loss": "relabel", "lr": 3e-3, "only_remembered": True}),
    ("rl-2", "unlearn", {"forget_loss": "relabel", "lr": 6e-3, "only_remembered": True}),
    ("ft-1", "finetune_retain", {"epochs": 1, "lr": 1e-3}),
    ("ft-2", "finetune_retain", {"epochs": 3, "lr": 1e-3}),
    ("head-1", "head_retain", {"epochs": 3, "lr": 3e-3}),
    ("mask-1", "mask_class", {}),
)
# An unlearned copy may lose the forget class (a tenth of the test digits) and as much again on the others.
UNLEARNED_SLACK = 0.2
# Ascent and random labels stop when the forget class's training accuracy is at most the retrained models' (0: they
# never saw it) or this, whichever is higher: driving the last few images off the class took 300 steps or wrecked the
# model. History (before any verdict was read on any unlearning zoo, benchmarks/results/unlearning-round-one): ascent
# and random labels on every forget image to the retrained level failed their accuracy thresholds: at learning rate
# 6e-3 on seed 1 (0.56 and 0.71), then at 1e-3 and 3e-3 on seeds 1, 5, 6, 7 and 8 of seeds 1-8 (0.63-0.68); on the
# remembered images only (read in training mode: gifviz.builtin_zoo.training.unlearn_approximately), to this level,
# a probe kept 0.77-0.93 test accuracy (3e-3 on seeds 1 and 5-8, 6e-3 on seeds 1, 5 and 7).
FORGET_TOLERANCE = 0.05
RETRAINED_SLACK = 0.1


@dataclasses.dataclass(frozen=True)
class UnlearningScale:
    """How big and how well trained an unlearning stress zoo is.

    Attributes:
        name: ``full`` (the zoos rules are reported on), ``smoke`` (a quick check), or a test's own.
        retrained: models retrained without the forget class.
        unrelated: models of another task.
        epochs: training passes of the original, the retrained and the unrelated models.
        data_fraction: fraction of each digit split used (below 1 only for tests).
        threshold: multiplies every accuracy threshold (0: none, for quick checks).
    """

    name: str
    retrained: int
    unrelated: int
    epochs: int
    data_fraction: float = 1.0
    threshold: float = 1.0


FULL = UnlearningScale("full", retrained=4, unrelated=2, epochs=10)
SMOKE = UnlearningScale("smoke", retrained=2, unrelated=1, epochs=2, threshold=0.0)
UNLEARNING_SCALES = {scale.name: scale for scale in (FULL, SMOKE)}


@dataclasses.dataclass(frozen=True)
class UnlearningDesign:
    """What the seed chose: the original's architecture, the class forgotten, the unrelated models' task."""

    seed: int
    arch: str
    forget_class: int
    unrelated_task: str


def unlearning_design(seed: int) -> UnlearningDesign:
    """The seeded choices of the unlearning zoo with this ``seed`` (a stream of its own: the lineage stress zoo of
    the same seed chooses independently)."""
    rng = np.random.default_rng([STREAM, seed, 400])
    arch = str(SOURCE_ARCHS[int(rng.integers(len(SOURCE_ARCHS)))])
    forget = int(rng.integers(10))
    return UnlearningDesign(seed, arch, forget, TRANSFER_TASKS[int(rng.integers(len(TRANSFER_TASKS)))])


def unlearning_plan(seed: int, scale: UnlearningScale) -> list[Recipe]:
    """Every recipe of the unlearning zoo with this ``seed``, the original first; thresholds scaled by
    ``scale.threshold``."""
    chosen = unlearning_design(seed)
    base = seed * 100_000 + 70_000
    scratch = {"epochs": scale.epochs, "lr": 3e-3}
    ok = _scratch_ok(chosen.arch)
    recipes = [Recipe("original", FAMILY, chosen.arch, TASK, "scratch", "reference", base, None, dict(scratch), ok)]
    for k in range(scale.retrained):
        recipes.append(
            Recipe(
                f"retrained-{k + 1}",
                FAMILY,
                chosen.arch,
                TASK,
                "retrain_without",
                "retrained",
                base + 10 + k,
                None,
                {**scratch, "forget": chosen.forget_class},
                ok - RETRAINED_SLACK,
            )
        )
    for k, (name, kind, settings) in enumerate(SHORTCUTS):
        recipes.append(
            Recipe(
                name,
                FAMILY,
                chosen.arch,
                TASK,
                kind,
                "unlearned",
                base + 20 + k,
                "original",
                {**settings, "forget": chosen.forget_class},
                ok - UNLEARNED_SLACK,
            )
        )
    for k in range(scale.unrelated):
        arch = UNRELATED_ARCHS[(seed + k) % len(UNRELATED_ARCHS)]
        recipes.append(
            Recipe(
                f"unrelated-{chosen.unrelated_task}-{arch}",
                FAMILY,
                arch,
                chosen.unrelated_task,
                "scratch",
                "unrelated",
                base + 40 + k,
                None,
                dict(scratch),
                TRANSFER_OK,
            )
        )
    return [dataclasses.replace(r, min_accuracy=round(r.min_accuracy * scale.threshold, 3)) for r in recipes]
