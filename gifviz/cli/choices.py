"""The choices and defaults the parser shows, importable without torch.

``gifviz --help`` must start in well under a second, so building the parser may not import the modules that define
these values (they import torch, pandas or ray). Plain names live once in :mod:`gifviz.constants` and the field
options in :mod:`gifviz.config` (both torch-free). The names below are derived from registries (the peers, the zoo
recipes), so each mirrors its library definition, named beside it; ``tests/test_cli_startup.py`` fails the moment a
copy and its original differ.
"""

from __future__ import annotations

from gifviz.constants import DISTANCE_METHODS, EXECUTORS, METRICS, SKETCH_DIM, SOURCE_SCHEMES, TESTBEDS, builtin_root

__all__ = [
    "CATALOGUE_SOURCES",
    "EXECUTORS",
    "METHODS",
    "METRICS",
    "QUICK_METHODS",
    "SKETCH_DIM",
    "SOURCE_SCHEMES",
    "STRESS_FAMILIES",
    "STRESS_SCALES",
    "TESTBEDS",
    "ZOO_FAMILIES",
    "ZOO_SCALES",
    "builtin_root",
]

# gifviz.methods.registry.METHODS (= gifviz.bench.suite.METHODS) is built in this order
METHODS = DISTANCE_METHODS
# gifviz.bench.costs.QUICK_METHODS: the methods a run uses unless others are named (seconds, not minutes)
QUICK_METHODS = ("modelgif", "disagreement", "softmax", "sac-m")
ZOO_FAMILIES = ("lineage", "tasks", "unlearning")  # keys of gifviz.builtin_zoo.recipes.FAMILIES
ZOO_SCALES = ("full", "smoke")  # keys of gifviz.builtin_zoo.recipes.SCALES
STRESS_SCALES = ("full", "smoke")  # keys of gifviz.builtin_zoo.stress_plan.STRESS_SCALES (and unlearning_plan's)
STRESS_FAMILIES = ("lineage", "unlearning")  # gifviz.builtin_zoo.stress (lineage) and unlearning_zoo
CATALOGUE_SOURCES = ("torchvision", "timm", "hf", "folder")  # gifviz.hub.catalogue.ORIGINS
