"""Source-specific flips: does a suspect follow the source where no independent model does?

Each reference is pushed, by small signed-gradient steps on the source alone, until the source answers one of the
classes it ranks next (one probe per reference and runner-up class). A model copied or distilled from the source
tends to follow the source's own flips; an independent model follows some of them too (flips that any model of the
task makes), so a probe counts for a model by how few of the *other* independents follow it there: weight
``w_p = 1 - (share of the other independents that answer the source's flip at p)``. The model's value is one minus
its weighted follow rate, smaller = more derived:

    d(m) = 1 - sum_p w_p [m answers t_p at p] / sum_p w_p

The weights are computed without ``m`` itself, so an independent is read exactly as a new innocent model would be
(leave-one-out), and the audit reads these values raw against the independents' (the probes already set aside what
the independents share: :data:`~gifviz.audit.names.SELF_CALIBRATED_METHODS`). Only the suspect's top-1 answers are
needed (a label-only API will do); the source's gradients are (the auditor owns the source).

The idea is that of fingerprints made of adversarial examples that transfer to copies of a model but not to
independent ones (IPGuard, Cao et al., AsiaCCS 2021; conferrable adversarial examples, Lukas et al., ICLR 2021); here
the independents the audit already has do the filtering, and no surrogate model is trained. Written here because no
maintained library builds such probes against a set of independent models. On stress seeds 1-28 (docs/audit-history.md,
step 11) it finds label-only thieves that queried natural images best of all, alone (AUC 0.99 / 0.93, mean / worst
case, against 0.95 / 0.83 for off-task disagreement), and fused into ``combined`` it lets the audit call more thieves
derived at the stated rate without accusing more innocent models. Cost: ``FLIP_STEPS`` forward and backward passes of
the source per reference and runner-up class, then one forward pass of each model per flip.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from gifviz.errors import GifvizError
from gifviz.hub.query_only import is_query_only
from gifviz.hub.spec import LoadedModel
from gifviz.hub.zoo import Zoo
from gifviz.methods.peers.evaluation import model_outputs, other_classes_reason, output_classes
from gifviz.pipeline import ZooProgress

FLIP_EPSILON = 0.1  # L-inf budget of a flip, a fraction of the input range (set before any score; never tuned)
FLIP_STEPS = 40  # signed-gradient steps of a tenth of the budget each: room to cross the budget's ball four times
FLIP_TARGETS = 9  # runner-up classes per reference: every other class of a ten-class task
FLIP_BATCH = 64  # references crafted at once (one forward and backward pass of the source per step)
FLIP_TITLE = "source flips"


@dataclasses.dataclass(frozen=True)
class FlipEvidence:
    """``d(m)`` per model (NaN where it cannot be read, with the reason), how many flips were crafted, and which flips
    each model follows (``(F,)`` booleans; the audit re-weighs them when it leaves an independent out)."""

    distances: dict[str, float]
    reasons: dict[str, str]
    flips: int
    follows: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @classmethod
    def unavailable(cls, models: Sequence[str], reason: str) -> FlipEvidence:
        """Every model ``n/a`` with ``reason`` (no flip could be crafted or read)."""
        return cls(dict.fromkeys(models, math.nan), dict.fromkeys(models, reason), 0)


def craft_flips(
    source: LoadedModel,
    images: torch.Tensor,
    value_range: tuple[float, float],
    targets: int = FLIP_TARGETS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Probes ``(F, C, H, W)`` on which the source answers the class ``(F,)`` it ranked next at a reference.

    For each reference ``(N, C, H, W)`` and each of the source's ``targets`` runner-up classes there (every other
    class when fewer), signed-gradient descent on the source's cross-entropy toward that class; after each step the
    probe is projected back into the input range and within ``FLIP_EPSILON`` of the reference (L-inf), so a pixel
    pushed to a bound can move back. The probes where the source does answer the class are kept (``F <= N *
    targets``). ``progress(done, total)`` counts the probes crafted so far (``FLIP_STEPS`` forward and backward passes
    of the source each).
    """
    if is_query_only(source.module):
        raise GifvizError(
            f"source-flips crafts its probes from the source's gradients, and {source.id!r} answers queries only"
        )
    low, high = value_range
    budget = FLIP_EPSILON * (high - low)
    wrapped = source.wrapped()
    probes, classes = [], []
    done = 0
    for chunk in images.split(FLIP_BATCH):
        with torch.no_grad():
            ranked = wrapped(chunk).argsort(dim=1, descending=True)[:, 1 : targets + 1]
        total = len(images) * ranked.shape[1]
        for column in range(ranked.shape[1]):
            target = ranked[:, column]
            delta = torch.zeros_like(chunk, requires_grad=True)
            for _ in range(FLIP_STEPS):
                loss = torch.nn.functional.cross_entropy(wrapped(chunk + delta), target)
                (gradient,) = torch.autograd.grad(loss, delta, allow_unused=True)
                if gradient is None:  # outputs that do not depend on the input's gradient (a wrapped API, a detach)
                    raise GifvizError(f"source-flips needs the gradients of {source.id!r}'s outputs to its inputs")
                with torch.no_grad():
                    delta -= budget / 10 * gradient.sign()
                    delta.copy_(((chunk + delta).clamp(low, high) - chunk).clamp(-budget, budget))
            with torch.no_grad():
                probe = chunk + delta
                flipped = wrapped(probe).argmax(dim=1) == target
            probes.append(probe[flipped].detach())
            classes.append(target[flipped])
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    if not probes:  # a source of one class has no runner-up to flip toward
        return images[:0], torch.zeros(0, dtype=torch.long)
    return torch.cat(probes), torch.cat(classes)


def weighted_distance(
    follows: Mapping[str, np.ndarray], model: str, weighers: Iterable[str], probes: str = "flips"
) -> tuple[float, str]:
    """``d(model)`` with each probe weighed by the share of ``weighers`` (independents, ``model`` never among them)
    that do not follow it; NaN and the reason, which names the ``probes``, when it cannot be read."""
    others = [follows[i] for i in weighers if i != model and i in follows]
    if not others:
        return math.nan, f"no other independent to weigh the {probes} with"
    weights = 1.0 - np.mean(others, axis=0)
    if weights.sum() <= 0:
        return math.nan, f"every one of the {probes} is followed by every other independent"
    return 1.0 - float(np.sum(weights * follows[model]) / weights.sum()), ""


def flip_evidence(
    zoo: Zoo,
    origin: str,
    ids: Sequence[str],
    independents: Sequence[str],
    images: torch.Tensor,
    progress: ZooProgress | None = None,
) -> FlipEvidence:
    """``d(m)`` (module docstring) for each of ``ids`` but ``origin``, the weights of each computed from the
    ``independents`` other than ``m``; flips crafted from ``origin`` on ``images`` ``(N, C, H, W)``. ``progress``
    sees the crafting as one run of the source (the models' answers after it take one forward pass each)."""
    models = [m for m in ids if m != origin]
    source = zoo.load(origin)
    first = model_outputs(source, images[:1])
    source_classes, columns = output_classes(source, first), min(FLIP_TARGETS, first.shape[1] - 1)
    label = f"{origin} (source-flips)"
    if progress is not None:
        progress.start(label, 0, 1, len(images) * columns)
    try:
        probes, targets = craft_flips(
            source, images, zoo.space.value_range, columns, progress.advance if progress is not None else None
        )
    finally:
        if progress is not None:
            progress.finish(label)
    if not len(probes):
        return FlipEvidence.unavailable(models, "no flip to read: the source could not be flipped at any reference")
    return probe_evidence(zoo, origin, models, independents, probes, targets, source_classes)


def probe_evidence(
    zoo: Zoo,
    origin: str,
    models: Sequence[str],
    independents: Sequence[str],
    probes: torch.Tensor,
    targets: torch.Tensor,
    source_classes: tuple,
    noun: str = "flips",
) -> FlipEvidence:
    """``d(m)`` (module docstring) for each of ``models`` from which of the probes ``(F, C, H, W)`` each model answers
    with the source's class ``(F,)``, each probe weighed by the ``independents`` other than ``m``. A model that gives
    no ``(N, K)`` outputs, or answers with other classes than ``origin``'s (``source_classes``), is n/a with the
    reason (which calls the probes ``noun``). Shared by the source's flips and by the source's answers on natural crops
    (:mod:`gifviz.audit.crops`)."""
    follows: dict[str, np.ndarray] = {}
    reasons: dict[str, str] = {}
    for model_id in dict.fromkeys((*models, *independents)):
        try:
            model = zoo.load(model_id)
            outputs = model_outputs(model, probes)
        except GifvizError as error:  # no (N, K) outputs, or an API that refused: this model only is n/a
            reasons[model_id] = str(error)
            continue
        if output_classes(model, outputs) != source_classes:
            reasons[model_id] = other_classes_reason(origin, model_id)
            continue
        follows[model_id] = (outputs.argmax(dim=1) == targets).numpy()
    distances = {}
    for model_id in models:
        distances[model_id] = math.nan
        if model_id not in reasons:
            distances[model_id], why = weighted_distance(follows, model_id, independents, noun)
            if why:
                reasons[model_id] = why
    return FlipEvidence(distances, {m: r for m, r in reasons.items() if m in distances}, len(probes), follows)
