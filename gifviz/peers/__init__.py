"""Peer methods: other ways to measure how close models are, behind one interface.

``peer_distances(name, models, inputs)`` returns a :class:`~gifviz.distance.DistanceMatrix`, like the field distance,
so the testbeds and the app put every method side by side on the same models and references.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gifviz.distance import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.hub.spec import LoadedModel
from gifviz.peers import cka, modeldiff, outputs, sac, zest
from gifviz.peers.base import PeerInputs, PeerMethod, Signature, pairwise_matrix, references_as_samples, sample_count

PEERS: dict[str, PeerMethod] = {
    method.name: method
    for method in (
        PeerMethod("disagreement", "Output disagreement", "top-1 prediction mismatch", "black-box", False, True, False,
                   references_as_samples, outputs.probabilities_signature, outputs.disagreement, sample_count),
        PeerMethod("softmax", "Softmax distance", "mean L2 distance of softmax outputs", "black-box", False, True,
                   False, references_as_samples, outputs.probabilities_signature, outputs.softmax_distance,
                   sample_count),
        PeerMethod("modeldiff", "ModelDiff (DDV)", "Li et al., ISSTA 2021", "black-box", False, False, True,
                   modeldiff.craft_pairs, modeldiff.ddv_signature, modeldiff.ddv_distance, modeldiff.pair_count),
        PeerMethod("sac-w", "SAC-w", "Guan et al., NeurIPS 2022", "black-box", True, False, True,
                   sac.misclassified, sac.correlation_signature, sac.correlation_distance, sample_count),
        PeerMethod("sac-m", "SAC-m", "Guan et al., NeurIPS 2022", "black-box", False, False, False,
                   sac.cutmix_samples, sac.correlation_signature, sac.correlation_distance, sample_count),
        PeerMethod("cka", "Linear CKA", "Kornblith et al., ICML 2019", "white-box", False, False, False,
                   references_as_samples, cka.features_signature, cka.cka_distance, sample_count),
        PeerMethod("zest", "ZEST (LIME)", "Jia et al., ICLR 2022", "black-box", False, True, False,
                   zest.lime_context, zest.lime_signature, zest.lime_distance, zest.lime_evaluations),
    )
}  # fmt: skip


def peer_method(name: str) -> PeerMethod:
    if name not in PEERS:
        raise ConfigError(f"unknown peer method {name!r}; choose one of: {', '.join(PEERS)}")
    return PEERS[name]


def peer_signatures(name: str, models: Sequence[LoadedModel], inputs: PeerInputs) -> list[Signature]:
    """One :class:`Signature` per model (the forward passes; comparing them is cheap)."""
    method = peer_method(name)
    context = method.prepare(inputs, inputs.probe or models[0])
    return [method.signature(model, context) for model in models]


def peer_distances(name: str, models: Sequence[LoadedModel], inputs: PeerInputs) -> DistanceMatrix:
    """The ``(M, M)`` distances of peer method ``name`` between ``models`` on ``inputs.references``."""
    method = peer_method(name)
    started = time.perf_counter()
    values = pairwise_matrix(method, peer_signatures(name, models, inputs))
    provenance = {
        "method": name,
        "citation": method.citation,
        "reference_names": list(inputs.references.names),
        "reference_digest": inputs.references.digest(),
        "probe": (inputs.probe or models[0]).id,
        "seed": inputs.seed,
        "seconds": round(time.perf_counter() - started, 3),
        "model_digests": {model.id: model.digest for model in models},
    }
    return DistanceMatrix(tuple(model.id for model in models), values, metric=name, provenance=provenance)


__all__ = ["PEERS", "PeerInputs", "PeerMethod", "Signature", "peer_distances", "peer_method", "peer_signatures"]
