"""Every distance method by name, ModelGiF first, and the matrix of any of them for a zoo's models."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from gifviz.constants import DISTANCE_METHODS
from gifviz.distance.matrix import DistanceMatrix
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods import first_layer
from gifviz.methods.crops_field import MODELGIF_CROPS
from gifviz.methods.dark_knowledge import (
    UNDEFINED,
    dark_knowledge_distance,
    log_probabilities_signature,
    mixed_references,
)
from gifviz.methods.interface import DistanceMethod, MethodInputs
from gifviz.methods.modelgif import MODELGIF
from gifviz.methods.off_task import KAPPA_UNDEFINED, kappa_distance, off_task_samples
from gifviz.methods.peers import cka, modeldiff, outputs, sac, zest
from gifviz.methods.peers.evaluation import references_as_samples, sample_count
from gifviz.methods.run import signatures_of
from gifviz.pipeline import ZooProgress

PEERS: dict[str, DistanceMethod] = {
    method.name: method
    for method in (
        DistanceMethod(
            name="disagreement",
            title="Output disagreement",
            citation="top-1 prediction mismatch",
            access="black-box",
            shared_outputs=True,
            prepare=references_as_samples,
            signature=outputs.probabilities_signature,
            compare=outputs.disagreement,
            evaluations=sample_count,
            share_of_samples=True,
        ),
        DistanceMethod(
            name="softmax",
            title="Softmax distance",
            citation="mean L2 distance of softmax outputs",
            access="black-box",
            shared_outputs=True,
            prepare=references_as_samples,
            signature=outputs.probabilities_signature,
            compare=outputs.softmax_distance,
            evaluations=sample_count,
        ),
        DistanceMethod(
            name="modeldiff",
            title="ModelDiff (DDV)",
            citation="Li et al., ISSTA 2021",
            access="black-box",
            uses_probe=True,
            prepare=modeldiff.craft_pairs,
            signature=modeldiff.ddv_signature,
            compare=modeldiff.ddv_distance,
            evaluations=modeldiff.pair_count,
        ),
        DistanceMethod(
            name="sac-w",
            title="SAC-w",
            citation="Guan et al., NeurIPS 2022",
            access="black-box",
            needs_labels=True,
            uses_probe=True,
            prepare=sac.misclassified,
            signature=sac.correlation_signature,
            compare=sac.correlation_distance,
            evaluations=sample_count,
        ),
        DistanceMethod(
            name="sac-m",
            title="SAC-m",
            citation="Guan et al., NeurIPS 2022",
            access="black-box",
            prepare=sac.cutmix_samples,
            signature=sac.correlation_signature,
            compare=sac.correlation_distance,
            evaluations=sample_count,
        ),
        DistanceMethod(
            name="cka",
            title="Linear CKA",
            citation="Kornblith et al., ICML 2019",
            access="white-box",
            prepare=references_as_samples,
            signature=cka.features_signature,
            compare=cka.cka_distance,
            evaluations=sample_count,
        ),
        DistanceMethod(
            name="zest",
            title="ZEST (LIME)",
            citation="Jia et al., ICLR 2022",
            access="black-box",
            shared_outputs=True,
            prepare=zest.lime_context,
            signature=zest.lime_signature,
            compare=zest.lime_distance,
            evaluations=zest.lime_evaluations,
        ),
    )
}
OFF_TASK = DistanceMethod(
    name="off-task",
    title="Off-task disagreement",
    citation="top-1 mismatch on crops of natural photographs",
    access="black-box",
    shared_outputs=True,
    prepare=off_task_samples,
    signature=outputs.probabilities_signature,
    compare=outputs.disagreement,
    evaluations=sample_count,
    share_of_samples=True,
)
DARK_KNOWLEDGE = DistanceMethod(
    name="dark-knowledge",
    title="Dark knowledge",
    citation="correlation of the other classes' outputs (Hinton et al., 2015)",
    access="black-box",
    shared_outputs=True,
    prepare=references_as_samples,
    signature=log_probabilities_signature,
    compare=dark_knowledge_distance,
    evaluations=sample_count,
    undefined=UNDEFINED,
)
# Evidence of gifviz's own for the audit (their modules say why each sees what the others miss).
AUDIT_EVIDENCE: dict[str, DistanceMethod] = {
    method.name: method
    for method in (
        DARK_KNOWLEDGE,
        # the same distance on blends of the references (gifviz.methods.dark_knowledge says why)
        dataclasses.replace(
            DARK_KNOWLEDGE,
            name="dark-knowledge-mix",
            title="Dark knowledge on blends",
            citation="correlation of the other classes' outputs on mixup blends of the references",
            prepare=mixed_references,
        ),
        OFF_TASK,
        # the same crops and answers, read as agreement beyond chance (gifviz.methods.off_task says why). Kappa has a
        # sampling error too, larger than a rate's (by 1 / (1 - chance agreement)), but the audit's rate floor is
        # written for rates in [0, 1] and 1 - kappa reaches 2: only the audit's other floors apply to it. Not a mean
        # over crops, so no per-sample terms or all-pairs shortcut of off-task's may carry over.
        dataclasses.replace(
            OFF_TASK,
            name="off-task-kappa",
            title="Off-task agreement beyond chance",
            citation="Cohen's kappa of top-1 answers on crops of natural photographs (Cohen, 1960)",
            compare=kappa_distance,
            undefined=KAPPA_UNDEFINED,
            share_of_samples=False,
            per_sample=None,
            all_pairs=None,
        ),
        # ModelGiF's field read on crops of natural photographs (its module says what it sees that the field on the
        # references does not)
        MODELGIF_CROPS,
        DistanceMethod(
            name="first-layer",
            title="First-layer weights",
            citation="cosine of the first layer's filters, matched one to one",
            access="white-box",
            prepare=first_layer.no_samples,
            signature=first_layer.filters_signature,
            compare=first_layer.first_layer_distance,
            evaluations=first_layer.no_evaluations,
            undefined=first_layer.UNDEFINED,
            reads_references=False,
        ),
    )
}
# ModelGiF, its peers and the audit's own evidence, in :data:`gifviz.constants.DISTANCE_METHODS`' order (the
# names the parser and the app's settings validate against without importing torch; a test keeps the two in step).
METHODS: dict[str, DistanceMethod] = {
    name: {"modelgif": MODELGIF, **PEERS, **AUDIT_EVIDENCE}[name] for name in DISTANCE_METHODS
}


def distance_method(name: str) -> DistanceMethod:
    """The method called ``name``; one line naming the choices when there is none."""
    if name not in METHODS:
        raise ConfigError(f"unknown distance method {name!r}; choose one of: {', '.join(METHODS)}")
    return METHODS[name]


def method_matrix(
    name: str,
    zoo: Zoo,
    ids: Sequence[str],
    inputs: MethodInputs,
    progress: ZooProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DistanceMatrix:
    """The ``(M, M)`` distances of method ``name`` between the models ``ids`` of ``zoo`` on ``inputs.references``,
    with its provenance (method, citation, references, probe, seed, model digests; ModelGiF's field configuration).
    ``should_stop`` is polled after each model a peer evaluates (:class:`~gifviz.errors.Cancelled` stops the run)."""
    method = distance_method(name)
    if method.needs_labels and inputs.references.labels is None:
        raise ConfigError(f"{method.title} needs references with ground-truth labels; these references have none")
    ids = list(ids)
    started = time.perf_counter()
    signatures, _ = signatures_of(method, zoo, ids, inputs, progress, should_stop)
    values = method.matrix([signatures[model_id] for model_id in ids])
    provenance = {
        "zoo": zoo.name,
        "manifest": str(zoo.manifest.path) if zoo.manifest.path else None,
        "method": name,
        "citation": method.citation,
        "reference_names": list(inputs.references.names),
        "reference_digest": inputs.references.digest(),
        "seed": inputs.seed,
        "seconds": round(time.perf_counter() - started, 3),
        "model_digests": {model_id: zoo.load(model_id).digest for model_id in ids},
    }
    if method in (MODELGIF, MODELGIF_CROPS):
        provenance["field_config"] = inputs.field.to_dict()
    if method.uses_probe:
        provenance["probe"] = inputs.probe.id if inputs.probe is not None else ids[0]
    return DistanceMatrix(tuple(ids), values, metric=name, provenance=provenance)
