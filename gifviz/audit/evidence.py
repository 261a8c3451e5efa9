"""Every method's distances from one model (the source, or the original) to the others, each method run once, and
from every model to a few anchor models (the independents, for the audit's relative calibration).

Every distance method runs through :func:`gifviz.methods.run.method_run` on all the models of the question, with the
asking model as the probe (ModelDiff's input pairs and SAC-w's samples are crafted from it); the audit's source flips
(:mod:`gifviz.audit.flips`), which need the independents, run here too. A method that cannot run on these models (no
labels, no hookable layer, no gradients) becomes NaN distances with its reason, as in the testbeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from gifviz.audit.crops import crop_evidence, source_crops
from gifviz.audit.flips import FlipEvidence, flip_evidence
from gifviz.audit.names import SOURCE_CROPS, SOURCE_FLIPS, WEIGHT_METHODS
from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.hub.digest import architecture_digest
from gifviz.hub.query_only import is_query_only
from gifviz.hub.zoo import Zoo
from gifviz.methods.interface import DistanceMethod, MethodInputs
from gifviz.methods.peers.evaluation import model_outputs, other_classes_reason, output_classes
from gifviz.methods.registry import distance_method
from gifviz.methods.run import MethodRun, SignatureCache, failed_run, method_run
from gifviz.pipeline import ZooProgress
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore

# The audit's methods whose probes the independents weigh, and what each calls its probes (in the reason given when
# there are no independents).
PROBES_WEIGHED = {SOURCE_FLIPS: "the source's flips", SOURCE_CROPS: "the crops"}


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Distances from ``origin`` to each model, per method.

    Attributes:
        distances: ``method -> model id -> distance`` (NaN where the method cannot compare the pair).
        reasons: ``method -> model id -> why`` for each NaN distance.
        samples: ``method -> samples its distances average over`` (0 for a method that could not run).
        to_anchors: ``method -> model id -> anchor id -> distance`` for every model and each anchor asked for (none
            by default); a model's distance to itself is left out.
        other_classes: the models with other output classes than ``origin`` (a new head, another task), as their
            manifest entries say, else as one reference's outputs say; empty unless asked for.
        follows: ``method -> model id -> (F,)`` booleans for a method whose value depends on which independents are
            in use (source flips: which of its flips each model follows), so the calibration can leave one out.
        same_architecture: the models with ``origin``'s architecture (the same parameter shapes,
            :func:`~gifviz.hub.digest.architecture_digest`); empty unless asked for.
    """

    origin: str
    distances: dict[str, dict[str, float]]
    reasons: dict[str, dict[str, str]]
    samples: dict[str, int]
    to_anchors: dict[str, dict[str, dict[str, float]]] = dataclasses.field(default_factory=dict)
    other_classes: frozenset[str] = frozenset()
    # arrays: left out of == (numpy would make it ambiguous) and of the repr (thousands of booleans)
    follows: dict[str, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    same_architecture: frozenset[str] = frozenset()


def _same_classes(zoo: Zoo, a: str, b: str) -> bool | None:
    """Whether the manifest says the two models share their output classes (names, else counts); None if it does
    not say."""
    first, second = zoo.spec(a), zoo.spec(b)
    if first.classes is not None and second.classes is not None:
        return tuple(first.classes) == tuple(second.classes)
    if first.num_classes is not None and second.num_classes is not None:
        return first.num_classes == second.num_classes
    return None


def _reason(run: MethodRun, method: DistanceMethod, zoo: Zoo, origin: str, model_id: str) -> str:
    """Why ``method`` gave no distance from ``origin`` to ``model_id``."""
    if run.note:
        return run.note
    if model_id in run.unread:
        return f"{method.title} cannot read this model: {run.unread[model_id]}"
    mismatch = other_classes_reason(origin, model_id)
    same = _same_classes(zoo, origin, model_id) if method.shared_outputs else None
    if method.shared_outputs and same is False:
        return mismatch
    if method.undefined:
        return method.undefined if same or not method.shared_outputs else f"{mismatch}, or {method.undefined}"
    return mismatch if method.shared_outputs else "no finite distance"


def method_evidence(
    zoo: Zoo,
    origin: str,
    ids: Sequence[str],
    methods: Sequence[str],
    references: ReferenceSet,
    *,
    labelled_pool: ReferenceSet | None = None,
    field_config: FieldConfig | None = None,
    store: FieldStore | None = None,
    seed: int = 0,
    progress: ZooProgress | None = None,
    anchors: Sequence[str] = (),
    find_other_classes: bool = False,
    find_same_architecture: bool = False,
) -> Evidence:
    """Distances from ``origin`` to each of ``ids`` for each of ``methods`` on ``references`` ``(N, C, H, W)``.

    ``labelled_pool``: labelled samples for a method that needs labels (SAC-w; default: the references).
    ``anchors``: models among ``ids`` whose distance to every model is kept too (no model runs again: a method's
    signatures are computed once, and a pair costs one comparison; for ModelGiF one pass over two fields, ``N * S *
    D`` products, so 100 models and 50 anchors add 5,000 such passes to the 100 from the origin); they also weigh
    the source flips and the source crops.
    ``find_other_classes``: also find the models with other output classes than ``origin`` (the audit's cross-task
    rule), from the manifest or one reference's outputs.
    ``find_same_architecture``: also find the models with ``origin``'s architecture (the audit's ``same-arch``
    calibration rule).
    """
    field_config = field_config or FieldConfig(steps=10)
    ids = list(dict.fromkeys((origin, *ids)))
    other = _other_classes(zoo, origin, ids, references) if find_other_classes else frozenset()
    same_arch = _same_architecture(zoo, origin, ids) if find_same_architecture else frozenset()
    shared: SignatureCache = {}  # output disagreement and softmax distance read the same outputs
    distances, reasons, samples, to_anchors, follows = {}, {}, {}, {}, {}
    for name in methods:
        if name in PROBES_WEIGHED:
            found = _probe_evidence(name, zoo, origin, ids, anchors, references, seed, progress)
            distances[name], reasons[name], samples[name] = found.distances, found.reasons, found.flips
            follows[name] = found.follows  # re-weighed by the calibration when it leaves an independent out
            to_anchors[name] = {}
            continue
        method = distance_method(name)
        pool = labelled_pool if method.needs_labels and labelled_pool is not None else references
        try:
            inputs = MethodInputs(
                pool,
                zoo.load(origin) if method.uses_probe else None,
                zoo.space.value_range,
                seed,
                field=field_config,
                store=store,
            )
            run = method_run(method, zoo, ids, inputs, progress=progress, shared=shared)
        except GifvizError as error:  # this method cannot answer; the others still can
            run = failed_run(name, method.title, method.access, str(error))
        if origin in run.unread:  # no suspect can be compared with the source: the method failed as a whole
            reason = f"{method.title} cannot read the source {origin!r}: {run.unread[origin]}"
            run = failed_run(name, method.title, method.access, reason)
        values = {m: run.distance(origin, m) for m in ids if m != origin}
        distances[name] = values
        reasons[name] = {
            m: _reason(run, method, zoo, origin, m) for m, value in values.items() if not math.isfinite(value)
        }
        samples[name] = run.samples
        # a method that reads weights is read raw under every rule (gifviz.audit.names.WEIGHT_METHODS): no distance
        # to an anchor is ever read, and each would cost one filter matching
        to_anchors[name] = (
            {} if name in WEIGHT_METHODS else {m: {a: run.distance(m, a) for a in anchors if a != m} for m in ids}
        )
    return Evidence(origin, distances, reasons, samples, to_anchors, other, follows, same_arch)


def _probe_evidence(
    name: str,
    zoo: Zoo,
    origin: str,
    ids: Sequence[str],
    independents: Sequence[str],
    references: ReferenceSet,
    seed: int,
    progress: ZooProgress | None,
) -> FlipEvidence:
    """The evidence of a method whose probes the independents weigh (:data:`PROBES_WEIGHED`): the source's flips
    (:mod:`gifviz.audit.flips`, crafted on the references) or its answers on crops of the references' shape
    (:mod:`gifviz.audit.crops`), the ``anchors`` of :func:`method_evidence` weighing them; every model n/a with the
    reason when there are no independents to weigh them with, or the probes cannot be made (flips: a source without
    gradients)."""
    models = [m for m in ids if m != origin]
    try:
        if not independents:
            raise GifvizError(f"{name} weighs {PROBES_WEIGHED[name]} by the independents, and there are none")
        if name == SOURCE_FLIPS:
            return flip_evidence(zoo, origin, models, independents, references.images, progress)
        return crop_evidence(zoo, origin, models, independents, source_crops(zoo, references.images.shape, seed))
    except GifvizError as error:
        return FlipEvidence.unavailable(models, str(error))


def _same_architecture(zoo: Zoo, origin: str, ids: Sequence[str]) -> frozenset[str]:
    """The models of ``ids`` whose parameters have ``origin``'s shapes in ``origin``'s order (a frozen TorchScript
    file's: its graph's constants, :func:`gifviz.hub.digest.architecture_digest`); none when the source is reached
    only through its answers (an API) or shows no parameters, and a model that is, or does not load, is not among
    them.
    Shapes alone cannot tell two architectures apart that differ only in what carries no parameter (an activation, a
    stride, a skip connection); they are one architecture here."""

    # a model that does not load has no digest (the zoo keeps its error; the methods report it)
    loaded, _ = zoo.load_available(dict.fromkeys((origin, *ids)))
    # a model reached only through its answers shows no architecture, whatever its wrapper holds
    digests = {m.id: None if is_query_only(m.module) else architecture_digest(m.module) for m in loaded}
    own = digests.get(origin)
    if own is None:
        return frozenset()
    return frozenset(m for m in ids if m != origin and digests.get(m) == own)


def _other_classes(zoo: Zoo, origin: str, ids: Sequence[str], references: ReferenceSet) -> frozenset[str]:
    """The models of ``ids`` that answer with other output classes than ``origin``: as the manifest says, else as one
    reference's outputs say (their count, and the class names a model carries), as the output-based methods compare
    them. Run before any method, while every model is still where the zoo loaded it; the source answers once."""
    probe = references.images[:1]
    source_answer: tuple | None = None
    source_failed = False  # an API source that refused once is not asked again for every suspect
    other = set()
    for model_id in ids:
        if model_id == origin:
            continue
        same = _same_classes(zoo, origin, model_id)
        if same is None and not source_failed:
            try:
                if source_answer is None:
                    source = zoo.load(origin)
                    source_answer = output_classes(source, model_outputs(source, probe))
            except GifvizError:
                source_failed = True
            if source_answer is not None:
                try:
                    model = zoo.load(model_id)
                    same = output_classes(model, model_outputs(model, probe)) == source_answer
                except GifvizError:  # no (N, K) outputs, or an API that refused: no output-based method compares it
                    same = True
        if same is False:  # None: neither the manifest nor the outputs could tell, so the rule stays off
            other.add(model_id)
    return frozenset(other)
