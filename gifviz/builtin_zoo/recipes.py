"""The built-in zoo's plan: every model, how it is made, from what, and the accuracy it must reach.

Relations are known by construction, which gives every view and benchmark ground truth:

- ``lineage`` (IP protection): two sources of different architectures; from each, fine-tuned, pruned (+ short
  fine-tune), extraction students trained from scratch through the victim's query API (labels or
  probabilities as answers, with or without adversarial queries; queries from the attacker split and the victim's
  training images without labels), and transfer-learned models (new head, task ``parity``). Negatives:
  independent models trained from scratch on ``digit`` (several seeds and architectures, the sources' own among
  them) and independent ``parity`` models.
- ``tasks`` (task relatedness): one model per labelled property, all one architecture; the ground-truth
  transferability matrix comes from linear probes on their frozen features.
- ``unlearning``: a reference digit model, models retrained without the forget class, models approximately unlearned
  from the reference, and unrelated models.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gifviz.builtin_zoo.data import TASKS, class_names

FORGET_CLASS = 3
TRANSFER_TASK = "parity"
SOURCES = {"src-cnn": "cnn_deep", "src-res": "resnet_tiny"}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one zoo model is made.

    Attributes:
        id: model id (also its file name).
        family: ``lineage``, ``tasks`` or ``unlearning``.
        arch: registered architecture.
        task: what its head predicts (a key of :data:`gifviz.builtin_zoo.data.TASKS`).
        kind: the procedure: ``scratch``, ``finetune``, ``prune``, ``extract_label``, ``extract_prob``,
            ``extract_adv``, ``transfer``, ``retrain_without``, ``unlearn``.
        relation: ground truth: ``source``, ``finetune``, ``prune``, ``extract-label``, ``extract-prob``,
            ``extract-adv``, ``transfer``, ``independent``, ``transfer-independent``, ``task``, ``reference``,
            ``retrained``, ``unlearned``, ``unrelated``.
        seed: seeds initialisation, data order and subsets.
        parent: the model it derives from (``None`` for models trained from scratch).
        params: procedure settings (epochs, lr, amount, ...).
        min_accuracy: test accuracy below which the build fails.
    """

    id: str
    family: str
    arch: str
    task: str
    kind: str
    relation: str
    seed: int
    parent: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    min_accuracy: float = 0.0

    @property
    def num_classes(self) -> int:
        return TASKS[self.task]

    @property
    def file_name(self) -> str:
        return f"models/{self.id}.safetensors"

    def manifest_entry(
        self,
        file: str,
        accuracy: float,
        seconds: float,
        digest: str,
        tags: dict[str, str],
        recipe_extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The zoo manifest's entry for this recipe's trained model (``file`` relative to the manifest): what every
        zoo builder (built-in, lineage and unlearning stress zoos) records; a builder adds its own keys after it."""
        entry: dict[str, Any] = {
            "id": self.id,
            "file": file,
            "arch": self.arch,
            "num_classes": self.num_classes,
            "task": self.task,
            "classes": list(class_names(self.task)),
            "family": self.family,
            "relation": self.relation,
            "recipe": {"kind": self.kind, **self.params, "min_accuracy": self.min_accuracy, **(recipe_extra or {})},
            "seed": self.seed,
            "accuracy": round(accuracy, 4),
            "build_seconds": round(seconds, 1),
            "digest": digest,
            "tags": tags,
        }
        if self.parent:
            entry["parent"] = self.parent
        return entry


@dataclasses.dataclass(frozen=True)
class Scale:
    """Epoch counts and models per relation: ``full`` for the shipped zoo, ``smoke`` for a quick check
    (``--scale smoke``; the tests build it on a tenth of the training images, not its quarter)."""

    name: str
    per_relation: int
    scratch_epochs: int
    source_epochs: int
    derive_epochs: int
    student_epochs: int
    threshold: float  # multiplies every accuracy threshold
    train_fraction: float = 1.0  # of the training split, and of the attacker's images a thief queries with


FULL = Scale(
    "full", per_relation=5, scratch_epochs=6, source_epochs=8, derive_epochs=2, student_epochs=10, threshold=1.0
)
SMOKE = Scale(
    "smoke",
    per_relation=1,
    scratch_epochs=1,
    source_epochs=2,
    derive_epochs=1,
    student_epochs=1,
    threshold=0.0,
    train_fraction=0.25,
)
SCALES = {scale.name: scale for scale in (FULL, SMOKE)}

# Chance is 0.1 for digits; each threshold is what the recipe reliably clears, with a margin (see the README table).
DIGIT_OK = {"cnn_deep": 0.85, "resnet_tiny": 0.8, "cnn_wide": 0.65, "cnn_small": 0.5}
# Students query with the attacker's and the victim's (unlabelled) images; they reach 0.92-0.98 (README table).
STUDENT_OK = {"cnn_deep": 0.85, "resnet_tiny": 0.8}
# What the victim's API answers, per extraction kind.
EXTRACTION_ANSWERS = {"extract_label": "label", "extract_prob": "probabilities", "extract_adv": "probabilities"}


def _cycle(options: list, index: int):
    return options[index % len(options)]


def lineage(scale: Scale) -> list[Recipe]:
    recipes: list[Recipe] = []
    n = scale.per_relation
    for s_index, (source, arch) in enumerate(SOURCES.items()):
        short = source.removeprefix("src-")
        base = 1000 * (s_index + 1)
        recipes.append(
            Recipe(
                source,
                "lineage",
                arch,
                "digit",
                "scratch",
                "source",
                base,
                params={"epochs": scale.source_epochs, "lr": 3e-3},
                min_accuracy=DIGIT_OK[arch],
            )
        )
        for k in range(n):
            seed = base + 10 * (k + 1)
            recipes.append(
                Recipe(
                    f"ft-{short}-{k + 1}",
                    "lineage",
                    arch,
                    "digit",
                    "finetune",
                    "finetune",
                    seed,
                    source,
                    {"epochs": scale.derive_epochs, "lr": _cycle([3e-4, 6e-4, 1e-3], k), "fraction": 0.5},
                    DIGIT_OK[arch] - 0.05,
                )
            )
            recipes.append(
                Recipe(
                    f"prune-{short}-{k + 1}",
                    "lineage",
                    arch,
                    "digit",
                    "prune",
                    "prune",
                    seed + 1,
                    source,
                    {"amount": [0.3, 0.45, 0.6, 0.7, 0.8][k % 5], "epochs": 1, "lr": 5e-4, "fraction": 0.5},
                    DIGIT_OK[arch] - 0.1,
                )
            )
            # Against a near-perfect victim, labels of natural images carry almost nothing beyond the ground truth,
            # so a label-only thief probes the victim's boundary with its student's FGSM points in a second round.
            recipes.append(
                Recipe(
                    f"xlabel-{short}-{k + 1}",
                    "lineage",
                    "cnn_deep",
                    "digit",
                    "extract_label",
                    "extract-label",
                    seed + 2,
                    source,
                    {"rounds": 2, "epochs": max(1, scale.student_epochs // 2), "lr": 4e-3},
                    STUDENT_OK["cnn_deep"],
                )
            )
            recipes.append(
                Recipe(
                    f"xprob-{short}-{k + 1}",
                    "lineage",
                    "cnn_deep",
                    "digit",
                    "extract_prob",
                    "extract-prob",
                    seed + 3,
                    source,
                    {"epochs": scale.student_epochs, "lr": 4e-3},
                    STUDENT_OK["cnn_deep"],
                )
            )
            adversary = _cycle(["cnn_deep", arch], k)  # also the thief who guessed the architecture
            recipes.append(
                Recipe(
                    f"xadv-{short}-{k + 1}",
                    "lineage",
                    adversary,
                    "digit",
                    "extract_adv",
                    "extract-adv",
                    seed + 4,
                    source,
                    {"rounds": 2, "epochs": max(1, scale.student_epochs // 2), "lr": 4e-3},
                    STUDENT_OK[adversary],
                )
            )
            recipes.append(
                Recipe(
                    f"transfer-{short}-{k + 1}",
                    "lineage",
                    arch,
                    TRANSFER_TASK,
                    "transfer",
                    "transfer",
                    seed + 5,
                    source,
                    {"epochs": scale.derive_epochs, "lr": _cycle([1e-3, 2e-3], k)},
                    0.8,
                )
            )
    # Negatives include the sources' own architectures with other seeds: the hardest case for a lineage detector.
    independents = ["cnn_deep", "resnet_tiny", "cnn_wide", "cnn_deep", "resnet_tiny"]
    for k, arch in enumerate(independents[: max(2, n)]):
        recipes.append(
            Recipe(
                f"indep-{arch}-{k + 1}",
                "lineage",
                arch,
                "digit",
                "scratch",
                "independent",
                3000 + k,
                params={"epochs": scale.scratch_epochs, "lr": 3e-3},
                min_accuracy=DIGIT_OK[arch],
            )
        )
    for k, arch in enumerate(["cnn_deep", "resnet_tiny", "cnn_wide", "cnn_small", "cnn_deep"][: max(1, n)]):
        recipes.append(
            Recipe(
                f"indep-{TRANSFER_TASK}-{arch}-{k + 1}",
                "lineage",
                arch,
                TRANSFER_TASK,
                "scratch",
                "transfer-independent",
                3100 + k,
                params={"epochs": max(1, scale.scratch_epochs - 2), "lr": 3e-3},
                min_accuracy=0.75,
            )
        )
    return recipes


def tasks(scale: Scale) -> list[Recipe]:
    minimum = {"digit": 0.8, "parity": 0.8, "ge5": 0.8, "colour": 0.9, "background": 0.7, "quadrant": 0.9}
    return [
        Recipe(
            f"task-{task}",
            "tasks",
            "cnn_deep",
            task,
            "scratch",
            "task",
            4000 + i,
            params={"epochs": max(1, scale.scratch_epochs - 2), "lr": 3e-3},
            min_accuracy=minimum[task],
        )
        for i, task in enumerate(TASKS)
    ]


def unlearning(scale: Scale) -> list[Recipe]:
    n = scale.per_relation
    recipes = [
        Recipe(
            "unl-reference",
            "unlearning",
            "cnn_deep",
            "digit",
            "scratch",
            "reference",
            5000,
            params={"epochs": scale.scratch_epochs, "lr": 3e-3},
            min_accuracy=DIGIT_OK["cnn_deep"],
        )
    ]
    for k in range(n):
        recipes.append(
            Recipe(
                f"unl-retrained-{k + 1}",
                "unlearning",
                "cnn_deep",
                "digit",
                "retrain_without",
                "retrained",
                5010 + k,
                params={"epochs": max(1, scale.scratch_epochs - 1), "lr": 3e-3, "forget": FORGET_CLASS},
                min_accuracy=DIGIT_OK["cnn_deep"] - 0.1,
            )
        )
    for k in range(n):
        recipes.append(
            Recipe(
                f"unl-approx-{k + 1}",
                "unlearning",
                "cnn_deep",
                "digit",
                "unlearn",
                "unlearned",
                5020 + k,
                "unl-reference",
                {"lr": _cycle([2e-3, 4e-3, 6e-3], k), "forget": FORGET_CLASS},
                DIGIT_OK["cnn_deep"] - 0.15,
            )
        )
    # The MLP, the ViT and torchvision's ShuffleNet learn global properties (colour, position) in a CPU budget but not
    # the translated digits, so they serve here, as models trained for something else.
    unrelated = [
        ("tv_shufflenet", "colour"),
        ("mlp", "colour"),
        ("vit_tiny", "quadrant"),
        ("mlp", "quadrant"),
        ("cnn_small", "background"),
    ]
    for k, (arch, task) in enumerate(unrelated[:n]):
        recipes.append(
            Recipe(
                f"unl-unrelated-{k + 1}",
                "unlearning",
                arch,
                task,
                "scratch",
                "unrelated",
                5030 + k,
                params={"epochs": max(1, scale.scratch_epochs - 1), "lr": 3e-3},
                min_accuracy=0.7,
            )
        )
    return recipes


FAMILIES = {"lineage": lineage, "tasks": tasks, "unlearning": unlearning}


def plan(scale: Scale, families: list[str] | None = None) -> list[Recipe]:
    """Every recipe of the chosen families, parents before children; thresholds scaled by ``scale.threshold``."""
    recipes = [r for name in (families or list(FAMILIES)) for r in FAMILIES[name](scale)]
    return [dataclasses.replace(r, min_accuracy=round(r.min_accuracy * scale.threshold, 3)) for r in recipes]
