"""The design of a stress zoo: every model, how it is made, from what, and the accuracy it must reach, from a seed.

A stress zoo tests whether lineage evidence generalises, so its seed varies what a method could overfit to: which two
architectures the sources have, which task transfer models move to, which thief architecture gets which query
budget. The design is fixed here, before any method is scored on a zoo (never change a zoo after seeing a
score on it). Per source:

- ``finetune``: the source trained further on half its training set or on the attacker's own labelled digits;
- ``prune``: 30-70% of the weights removed (global magnitude), then a short fine-tune that keeps them removed;
- ``transfer``: a new head for another task (``parity`` or ``ge5``), the whole network trained on it, lightly
  (``derive_epochs`` at lr 5e-4 to 2e-3) and, as ``transferlong-*``, with the independents' budget (``scratch_epochs``
  at lr 3e-3; zoos built before the kind was added, seeds 1-72, lack these);
- ``extract-prob``: students of several architectures distilled from the victim's probabilities on the attacker's
  unlabelled digits;
- ``extract-label``: students taught by the victim's top label only, on the attacker's digits, and students that
  query with natural images only (they never see a digit);

thieves are of the source's architecture and of others (MLP, wide CNN, kernel-5 CNN, small ResNet), with budgets of
a quarter, a half or all of their query pool. Negatives: ``independent`` digit models of several architectures (both
sources' included), trained from scratch with other seeds, and ``transfer-independent`` models of the transfer task.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress_data import STREAM

TASK = "digit"
TRANSFER_TASKS = ("parity", "ge5")
SOURCE_ARCHS = ("cnn_deep", "resnet_tiny", "cnn_small", "cnn_k5")
# A thief's architecture: the source's own first, then the four others in a seeded order (cnn_deep stands
# in for the one that is the source's own).
THIEF_ARCHS = ("mlp", "cnn_wide", "cnn_k5", "resnet_tiny", "cnn_deep")
INDEPENDENT_ARCHS = ("mlp", "cnn_wide", "cnn_k5", "resnet_tiny", "cnn_deep", "cnn_small")
BUDGETS = (1.0, 0.5, 0.25)  # fraction of the thief's query pool it may send
PRUNE_AMOUNTS = (0.3, 0.5, 0.7)
FINETUNE_DATA = ("digits:train-half", "digits:attacker")
# A long transfer model: the independents' budget (scratch epochs, the from-scratch learning rate) from the source's
# weights, so that the source is only a starting point (benchmarks/results/transfer-long/DECLARED.md).
LONG_TRANSFER_DATA = ("digits:train", "digits:attacker", "digits:train")
# (id prefix, kind, relation, query pool, what the victim answers)
THIEVES = (
    ("xprob", "extract_prob", "extract-prob", "digits:attacker", "probabilities"),
    ("xlabel", "extract_label", "extract-label", "digits:attacker", "label"),
    ("xnat", "extract_label", "extract-label", "natural", "label"),
)
# Test accuracy each kind of model must reach at full scale (chance: 0.1 for digits, 0.5 for the transfer tasks).
# (A seed-0 calibration build, seed 0 being no reported zoo: conv nets 0.97-0.99, the MLP 0.91, fine-tuned 0.97+,
# pruned 0.97+, transfer 0.95+.)
SCRATCH_OK = {"mlp": 0.85}
SCRATCH_OK_DEFAULT = 0.9
TRANSFER_OK = 0.85
# Thieves: those on task images clear 0.5 with a margin (an MLP student on a quarter of the attacker's digits is the
# weakest); those on natural images only get no threshold: how much such a thief learns of the task is what it is,
# and checks.csv reports it.
STUDENT_OK = {"digits:attacker": 0.5, "natural": 0.0}


@dataclasses.dataclass(frozen=True)
class StressScale:
    """How big and how well trained a stress zoo is.

    Attributes:
        name: ``full`` (the zoos methods are reported on), ``smoke`` (a quick check), or a test's own.
        derived: fine-tuned, pruned and transfer models per source (each).
        thieves: students per source and thief kind (:data:`THIEVES`): the source's architecture, then others.
        independents: independent models per task (digit, and the transfer task).
        source_epochs, scratch_epochs, derive_epochs, student_epochs, natural_epochs: training passes of sources,
            independents, fine-tune/prune/transfer, thieves on digits, thieves on natural images.
        natural_pool: natural images the largest-budget natural thief sends (smaller budgets send a prefix).
        data_fraction: fraction of each digit split used (below 1 only for tests).
        threshold: multiplies every accuracy threshold (0: none, for quick checks).
    """

    name: str
    derived: int
    thieves: int
    independents: int
    source_epochs: int
    scratch_epochs: int
    derive_epochs: int
    student_epochs: int
    natural_epochs: int
    natural_pool: int
    data_fraction: float = 1.0
    threshold: float = 1.0


FULL = StressScale(
    "full",
    derived=3,
    thieves=5,
    independents=8,
    source_epochs=10,
    scratch_epochs=10,
    derive_epochs=2,
    student_epochs=20,
    natural_epochs=8,
    natural_pool=6000,
)
SMOKE = StressScale(
    "smoke",
    derived=1,
    thieves=2,
    independents=3,
    source_epochs=3,
    scratch_epochs=3,
    derive_epochs=1,
    student_epochs=4,
    natural_epochs=2,
    natural_pool=1500,
    threshold=0.0,
)
STRESS_SCALES = {scale.name: scale for scale in (FULL, SMOKE)}


@dataclasses.dataclass(frozen=True)
class StressDesign:
    """What the seed chose: the two sources' architectures and the transfer task."""

    seed: int
    source_archs: tuple[str, str]
    transfer_task: str


def design(seed: int) -> StressDesign:
    """The seeded choices of the zoo with this ``seed``: two different source architectures, one transfer task."""
    rng = np.random.default_rng([STREAM, seed, 300])
    first, second = (str(a) for a in rng.permutation(SOURCE_ARCHS)[:2])
    return StressDesign(seed, (first, second), TRANSFER_TASKS[int(rng.integers(len(TRANSFER_TASKS)))])


def _scratch_ok(arch: str) -> float:
    return SCRATCH_OK.get(arch, SCRATCH_OK_DEFAULT)


def _thief_archs(source_arch: str, count: int, rotation: int) -> list[str]:
    others = [arch for arch in THIEF_ARCHS if arch != source_arch][: len(THIEF_ARCHS) - 1]
    rotation %= len(others)
    return [source_arch, *others[rotation:], *others[:rotation]][:count]


def _source_recipes(scale: StressScale, chosen: StressDesign, index: int, arch: str) -> list[Recipe]:
    """A source and everything derived from it."""
    name = "ab"[index]
    source = f"src-{name}"
    base = chosen.seed * 100_000 + 10_000 * (index + 1)
    recipes = [
        Recipe(
            source,
            "lineage",
            arch,
            TASK,
            "scratch",
            "source",
            base,
            params={"epochs": scale.source_epochs, "lr": 3e-3, "data": "digits:train"},
            min_accuracy=_scratch_ok(arch),
        )
    ]
    for k in range(scale.derived):
        seed = base + 100 * (k + 1)
        recipes += [
            Recipe(
                f"ft-{name}-{k + 1}",
                "lineage",
                arch,
                TASK,
                "finetune",
                "finetune",
                seed,
                source,
                {"epochs": scale.derive_epochs, "lr": (3e-4, 1e-3, 6e-4)[k % 3], "data": FINETUNE_DATA[k % 2]},
                _scratch_ok(arch) - 0.03,
            ),
            Recipe(
                f"prune-{name}-{k + 1}",
                "lineage",
                arch,
                TASK,
                "prune",
                "prune",
                seed + 1,
                source,
                {"amount": PRUNE_AMOUNTS[k % 3], "epochs": 1, "lr": 5e-4, "data": "digits:train-half"},
                _scratch_ok(arch) - 0.08,
            ),
            Recipe(
                f"transfer-{name}-{k + 1}",
                "lineage",
                arch,
                chosen.transfer_task,
                "transfer",
                "transfer",
                seed + 2,
                source,
                {"epochs": scale.derive_epochs, "lr": (1e-3, 2e-3, 5e-4)[k % 3], "data": "digits:train"},
                TRANSFER_OK,
            ),
        ]
    for k in range(scale.derived):
        # Seeds after the light kinds' (base + 100 (k + 1) + 0..2), so that every older recipe keeps its own.
        recipes.append(
            Recipe(
                f"transferlong-{name}-{k + 1}",
                "lineage",
                arch,
                chosen.transfer_task,
                "transfer",
                "transfer",
                base + 100 * (k + 1) + 3,
                source,
                {"epochs": scale.scratch_epochs, "lr": 3e-3, "data": LONG_TRANSFER_DATA[k % 3]},
                TRANSFER_OK,
            )
        )
    for t, (prefix, kind, relation, queries, answer) in enumerate(THIEVES):
        epochs = scale.natural_epochs if queries == "natural" else scale.student_epochs
        for j, thief_arch in enumerate(_thief_archs(arch, scale.thieves, chosen.seed + index + t)):
            recipes.append(
                Recipe(
                    f"{prefix}-{name}-{thief_arch}",
                    "lineage",
                    thief_arch,
                    TASK,
                    kind,
                    relation,
                    base + 1000 * (t + 1) + j,
                    source,
                    {
                        "data": queries,
                        "answers": answer,
                        "budget": BUDGETS[(j + t + index + chosen.seed) % len(BUDGETS)],
                        "epochs": epochs,
                        "lr": 4e-3,
                    },
                    STUDENT_OK[queries],
                )
            )
    return recipes


def _independents(scale: StressScale, chosen: StressDesign, task: str, relation: str, base: int) -> list[Recipe]:
    """Models trained from scratch on ``task``: both sources' architectures first, then the others."""
    others = [arch for arch in INDEPENDENT_ARCHS if arch not in chosen.source_archs]
    archs = [*chosen.source_archs, *chosen.source_archs, *others]
    archs += archs * (scale.independents // len(archs))  # more than the distinct architectures: repeat them
    recipes = []
    for k, arch in enumerate(archs[: scale.independents]):
        recipes.append(
            Recipe(
                f"indep-{task}-{arch}-{k + 1}",
                "lineage",
                arch,
                task,
                "scratch",
                relation,
                base + k,
                params={"epochs": scale.scratch_epochs, "lr": 3e-3, "data": "digits:train"},
                min_accuracy=_scratch_ok(arch) if task == TASK else TRANSFER_OK,
            )
        )
    return recipes


def stress_plan(seed: int, scale: StressScale) -> list[Recipe]:
    """Every recipe of the zoo with this ``seed``, parents before children; thresholds scaled by ``scale.threshold``."""
    chosen = design(seed)
    recipes = [r for i, arch in enumerate(chosen.source_archs) for r in _source_recipes(scale, chosen, i, arch)]
    recipes += _independents(scale, chosen, TASK, "independent", seed * 100_000 + 50_000)
    recipes += _independents(scale, chosen, chosen.transfer_task, "transfer-independent", seed * 100_000 + 60_000)
    return [dataclasses.replace(r, min_accuracy=round(r.min_accuracy * scale.threshold, 3)) for r in recipes]
