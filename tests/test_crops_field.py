"""ModelGiF on natural crops: ModelGiF's own field, read on photograph crops instead of the references."""

from __future__ import annotations

import numpy as np
import torch

from gifviz.builtin_zoo.data import zoo_data
from gifviz.hub import Zoo
from gifviz.hub.builtin import builtin_manifest_path
from gifviz.methods import MethodInputs, method_matrix
from gifviz.methods.crops_field import crops_references
from gifviz.methods.natural_crops import crops_like
from gifviz.methods.off_task import off_task_samples
from gifviz.refs import ReferenceSet


def test_the_crops_take_the_references_count_shape_and_range_and_repeat_with_the_seed():
    references = ReferenceSet(torch.rand(5, 1, 12, 12), tuple("abcde"))
    crops = crops_references(references, (-1.0, 1.0), seed=3)
    assert crops.images.shape == (5, 1, 12, 12) and float(crops.images.min()) >= -1.0
    assert float(crops.images.max()) == 1.0
    assert torch.equal(crops.images, crops_references(references, (-1.0, 1.0), seed=3).images)
    assert not torch.equal(crops.images, crops_references(references, (-1.0, 1.0), seed=4).images)
    # Crops of their own: neither off-task disagreement's nor the audit's source crops (streams 0 and 1).
    off_task = off_task_samples(MethodInputs(references, value_range=(-1.0, 1.0), seed=3), None)[:5]
    source_crops = crops_like(5, references.images.shape, (-1.0, 1.0), 3, stream=1)
    assert not torch.equal(crops.images, off_task) and not torch.equal(crops.images, source_crops)


def test_it_is_modelgif_read_on_the_crops():
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    ids = ["src-cnn", "ft-cnn-1", "indep-cnn_deep-1", "transfer-cnn-1"]
    references = ReferenceSet(zoo_data()["reference"].images[:16], tuple(f"r{i}" for i in range(16)))
    on_crops = method_matrix("modelgif-crops", zoo, ids, MethodInputs(references, seed=2))
    crops = crops_references(references, (0.0, 1.0), seed=2)
    modelgif = method_matrix("modelgif", zoo, ids, MethodInputs(crops, seed=2))
    assert np.allclose(on_crops.values, modelgif.values, atol=1e-9)
    on_references = method_matrix("modelgif", zoo, ids, MethodInputs(references, seed=2))
    assert not np.allclose(on_crops.values, on_references.values, atol=1e-3)
    # Like ModelGiF, it compares models of other classes (a transfer model's field has a gradient too).
    assert np.isfinite(on_crops.distance("src-cnn", "transfer-cnn-1"))
    assert on_crops.provenance["field_config"] == modelgif.provenance["field_config"]
