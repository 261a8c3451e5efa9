"""The choices and defaults the parser shows, importable without torch.

``gifviz --help`` must start in well under a second, so building the parser may not import the modules that define
these values (they import torch, pandas or ray). Each one mirrors its library definition, named beside it;
``tests/test_cli_startup.py`` fails the moment a copy and its original differ. The field options come straight from
:mod:`gifviz.config`, which is torch-free.
"""

from __future__ import annotations

import os
from pathlib import Path

METRICS = ("cosine", "euclidean", "cosine_max_step")  # gifviz.distance.METRICS
SKETCH_DIM = 8192  # gifviz.distance.SKETCH_DIM
EXECUTORS = ("local", "ray")  # gifviz.jobs.runner.EXECUTORS
TESTBEDS = ("ipp", "tasks", "unlearning")  # gifviz.bench.suite.TESTBEDS
# gifviz.bench.suite.METHODS: ModelGiF, then the peers of gifviz.peers.PEERS in their order
METHODS = ("modelgif", "disagreement", "softmax", "modeldiff", "sac-w", "sac-m", "cka", "zest")
# gifviz.bench.methods.QUICK_METHODS: the methods a run uses unless others are named (seconds, not minutes)
QUICK_METHODS = ("modelgif", "disagreement", "softmax", "sac-m")
SOURCE_SCHEMES = ("file", "torchvision", "hub", "builtin")  # gifviz.hub.manifest.SOURCE_SCHEMES
ZOO_FAMILIES = ("lineage", "tasks", "unlearning")  # keys of gifviz.zoo.recipes.FAMILIES
ZOO_SCALES = ("full", "smoke")  # keys of gifviz.zoo.recipes.SCALES


def builtin_root() -> Path:
    """The folder of the built-in zoos, as :func:`gifviz.hub.builtin.builtin_root` finds it."""
    configured = os.environ.get("GIFVIZ_BUILTIN_ZOO")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "assets" / "zoo"
