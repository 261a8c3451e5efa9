"""Off-task agreement: how often two models give the same answer on crops of natural photographs.

On task data, a model stolen with the source's labels answers like any accurate independent model, so agreement there
cannot tell them apart. On images of no class at all the answers are arbitrary, each model's own, unless one model was
trained to copy the other's answers on such images (a label-only thief without task data sends exactly those). The
distance is the disagreement rate on :data:`OFF_TASK_PROBES` crops from :mod:`gifviz.methods.natural_crops`, drawn for
the input space's shape and value range. It needs only top-1 answers, so it works for models behind a label-only API.
"""

from __future__ import annotations

import torch

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs
from gifviz.methods.natural_crops import crops_like

# Enough crops that one agreement rate varies by about 2 points (binomial, p = 0.5) between draws; 512 forward passes
# per model cost well under a second on small models.
OFF_TASK_PROBES = 512


def off_task_samples(inputs: MethodInputs, probe: LoadedModel | None) -> torch.Tensor:
    """:data:`OFF_TASK_PROBES` photograph crops ``(n, C, H, W)`` of the references' shape, in the space's range."""
    return crops_like(OFF_TASK_PROBES, inputs.references.images.shape, inputs.value_range, inputs.seed)
