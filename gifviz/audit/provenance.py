"""What a workflow result was computed from: references, versions, model digests; and its default references."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import Any

from gifviz._version import __version__
from gifviz.hub.zoo import Zoo
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore


def default_references(
    zoo: Zoo, n_refs: int, store: FieldStore | None = None
) -> tuple[ReferenceSet, ReferenceSet | None]:
    """The references the testbeds would use for ``zoo`` (``(N, C, H, W)``, N <= ``n_refs``) and a labelled pool for
    SAC-w (the built-in zoo's test split; ``None`` elsewhere): :func:`gifviz.bench.suite.bench_inputs`."""
    from gifviz.bench.suite import BenchConfig, bench_inputs

    inputs = bench_inputs(zoo, BenchConfig(n_refs=n_refs, sweep=(n_refs,), resamples=0), store)
    return inputs.references, inputs.labelled_pool


def versions() -> dict[str, str]:
    import numpy
    import scipy
    import torch

    return {
        "gifviz": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }


def run_provenance(zoo: Zoo, ids: Sequence[str], references: ReferenceSet) -> dict[str, Any]:
    """The zoo, its models' digests, the references and the versions a result was computed with."""
    return {
        "zoo": zoo.name,
        "manifest": str(zoo.manifest.path) if zoo.manifest.path else None,
        "model_digests": {model_id: zoo.load(model_id).digest for model_id in ids},
        "references": {"count": len(references), "names": list(references.names), "digest": references.digest()},
        "versions": versions(),
    }
