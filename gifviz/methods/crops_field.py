"""ModelGiF on crops of natural photographs: the gradient field where a label-only thief was taught.

ModelGiF's field is read on the references, task images (digits, in the stress zoos). A label-only thief that queried
natural images only never saw a task image: it was fitted to the source's answers on photographs, so it copies the
source's decision boundaries there and nowhere else. On the references its field is as far from the source's as an
independent model's (ModelGiF's AUC for those thieves over the 48 report zoos of seeds 217-264: 0.75 on average,
0.43 at worst). The same field read on crops of photographs asks where the thief learned: does the suspect's answer
change with the input the way the source's does, around images of no class?

Everything else is ModelGiF's own (:data:`gifviz.methods.modelgif.MODELGIF`): the path from each crop's baseline, the
target (each model's own predicted class), ``1 - cos`` averaged over crops and steps, the field store. The crops are
drawn as many as the references, from the photographs of :mod:`gifviz.methods.natural_crops`, in a random stream of
their own (neither off-task disagreement's nor the source crops').
"""

from __future__ import annotations

import dataclasses

from gifviz.hub.spec import LoadedModel
from gifviz.methods.interface import MethodInputs
from gifviz.methods.modelgif import MODELGIF, FieldContext
from gifviz.methods.natural_crops import crops_like
from gifviz.refs import ReferenceSet, reference_set_from_array

# natural_crops' ``stream`` for these crops: 0 is off-task disagreement's, 1 the audit's source crops'.
CROPS_FIELD_STREAM = 2
CROPS_NAME = "natural-crops"


def crops_references(references: ReferenceSet, value_range: tuple[float, float], seed: int) -> ReferenceSet:
    """As many photograph crops as ``references`` ``(N, C, H, W)``, of their shape, in ``value_range``: the same
    for the same arguments, so their fields are found in the store on the next run."""
    images = crops_like(len(references), references.images.shape, value_range, seed, CROPS_FIELD_STREAM)
    return reference_set_from_array(images, CROPS_NAME)


def crops_field_context(inputs: MethodInputs, probe: LoadedModel | None) -> FieldContext:
    """Every model's field is read on the same crops, whoever asks (like ModelGiF on its references)."""
    crops = crops_references(inputs.references, inputs.value_range, inputs.seed)
    return FieldContext(crops, inputs.field, inputs.store)


MODELGIF_CROPS = dataclasses.replace(
    MODELGIF,
    name="modelgif-crops",
    title="ModelGiF on natural crops",
    citation="Song et al., ICCV 2023, read on crops of natural photographs",
    prepare=crops_field_context,
)
