"""Names and defaults that the library and the command line's parser share, importable without torch.

``gifviz --help`` must start in well under a second, so the parser may not import the modules that use these
values (they import torch, pandas or ray). Each value lives here once; those modules import it from here.
"""

from __future__ import annotations

import os
from pathlib import Path

METRICS = ("cosine", "euclidean", "cosine_max_step")  # field distance variants (gifviz.distance)
SKETCH_DIM = 8192  # entries of a field's CountSketch (gifviz.distance.sketch)
EXECUTORS = ("local", "ray")  # where missing fields are computed (gifviz.jobs.runner)
TESTBEDS = ("ipp", "tasks", "unlearning")  # gifviz.bench.suite
# Every distance method (gifviz.methods): ModelGiF and its peers, in the order the app and the tables list them.
DISTANCE_METHODS = (
    "modelgif",
    "disagreement",
    "softmax",
    "modeldiff",
    "sac-w",
    "sac-m",
    "cka",
    "zest",
    "dark-knowledge",
    "dark-knowledge-mix",
    "off-task",
    "off-task-kappa",
    "modelgif-crops",
    "first-layer",
)
# Model sources of a manifest (gifviz.hub.manifest); the loaders of gifviz.hub.loading.SOURCE_LOADERS, and builtin.
SOURCE_SCHEMES = ("file", "torchvision", "hub", "builtin", "hf", "timm", "api")


def builtin_root() -> Path:
    """The folder holding one sub-folder per built-in zoo (``$GIFVIZ_BUILTIN_ZOO``, else the checkout's assets)."""
    configured = os.environ.get("GIFVIZ_BUILTIN_ZOO")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "assets" / "zoo"
