"""Source crops: does a suspect give the source's own answers on photographs, where no independent does?

Off-task disagreement (:mod:`gifviz.methods.off_task`) counts every crop of a natural photograph alike. On many crops
most models of a task give one answer (a dark crop looks like the same digit to all of them), so a label-only thief
that copied the source's answers on such images is set apart only by the crops where the source's answer is its own.
This evidence weighs each crop as the source flips weigh their probes (:mod:`gifviz.audit.flips`): by the share of
the *other* independents that do not give the source's answer there, so an independent is read as a new innocent
model would be, and the audit reads the values raw against the independents' (``SELF_CALIBRATED_METHODS``):

    d(m) = 1 - sum_p w_p [m answers s_p at p] / sum_p w_p,   s_p the source's answer on crop p

Only top-1 answers are needed, of the source too, so it works for models behind a label-only API, the source
included. Its crops are drawn apart from off-task disagreement's (another random stream), from the same photographs.
Written here for the reason :mod:`gifviz.audit.flips` gives: no maintained library weighs probes by a set of
independent models.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gifviz.audit.flips import FlipEvidence, probe_evidence
from gifviz.errors import GifvizError
from gifviz.hub.zoo import Zoo
from gifviz.methods.natural_crops import crops_like
from gifviz.methods.peers.evaluation import model_outputs, output_classes

# Twice off-task disagreement's probes: the weights keep mostly the crops where the source's answer is its own, a
# minority, and each costs one forward pass per model (set before this evidence was scored on any zoo).
SOURCE_CROP_PROBES = 1024
# The random stream of these crops (natural_crops' ``stream``): not off-task disagreement's crops.
SOURCE_CROP_STREAM = 1
CROPS_TITLE = "source crops"


def source_crops(zoo: Zoo, shape: torch.Size | tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """The :data:`SOURCE_CROP_PROBES` crops ``(F, C, H, W)`` for references of ``shape`` ``(N, C, H, W)``, in the
    zoo's value range."""
    return crops_like(SOURCE_CROP_PROBES, shape, zoo.space.value_range, seed, SOURCE_CROP_STREAM)


def crop_evidence(
    zoo: Zoo,
    origin: str,
    ids: Sequence[str],
    independents: Sequence[str],
    crops: torch.Tensor,
) -> FlipEvidence:
    """``d(m)`` (module docstring) for each of ``ids`` but ``origin`` on ``crops`` ``(F, C, H, W)``, the weights of
    each computed from the ``independents`` other than ``m``. Every model n/a with the reason when the source gives no
    ``(N, K)`` answers."""
    models = [m for m in ids if m != origin]
    try:
        source = zoo.load(origin)
        answers = model_outputs(source, crops)
    except GifvizError as error:
        return FlipEvidence.unavailable(models, f"{CROPS_TITLE} needs the source's answers: {error}")
    classes = output_classes(source, answers)
    return probe_evidence(zoo, origin, models, independents, crops, answers.argmax(dim=1), classes, "crops")
