"""``source-crops``, the audit's evidence from the source's own answers on crops of natural photographs: each crop
weighed by how few of the *other* independents give the source's answer there, read raw under either calibration
rule; n/a with its reason where it cannot run; a source behind a label-only API still has it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lineage_zoo import INDEPENDENTS, lineage_zoo

from gifviz.audit import audit
from gifviz.audit.calibration import calibrate
from gifviz.audit.crops import SOURCE_CROP_PROBES, crop_evidence, source_crops
from gifviz.audit.names import SOURCE_CROPS
from gifviz.audit.reading import MethodReading
from gifviz.audit.settings import ReadingSettings
from gifviz.hub.zoo import Zoo
from gifviz.methods.interface import MethodInputs
from gifviz.methods.off_task import off_task_samples
from gifviz.methods.peers.evaluation import model_outputs
from gifviz.refs import load_reference_folder
from tests.test_audit import FIELD, audited_methods


@pytest.fixture(scope="module")
def zoo_and_references(lineage):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    return zoo, load_reference_folder(refs, zoo.space)


def test_its_crops_have_the_references_shape_and_are_not_off_task_disagreements(zoo_and_references):
    zoo, references = zoo_and_references
    crops = source_crops(zoo, references.images.shape)
    assert crops.shape == (SOURCE_CROP_PROBES, *references.images.shape[1:])
    low, high = zoo.space.value_range
    assert float(crops.min()) >= low and float(crops.max()) <= high
    assert torch.equal(crops, source_crops(zoo, references.images.shape))  # the same crops on every run
    off_task = off_task_samples(MethodInputs(references, None, zoo.space.value_range, 0), None)
    assert not torch.equal(crops[: len(off_task)], off_task)  # a stream of its own, not off-task's crops again


def test_a_copy_gives_the_source_answers_and_each_model_is_weighed_without_itself(zoo_and_references):
    zoo, references = zoo_and_references
    crops = source_crops(zoo, references.images.shape)
    found = crop_evidence(zoo, "source", ["ft1", "transfer", *INDEPENDENTS], INDEPENDENTS, crops)
    answers = model_outputs(zoo.load("source"), crops).argmax(dim=1)
    gives = {m: (model_outputs(zoo.load(m), crops).argmax(dim=1) == answers).numpy() for m in ("ft1", *INDEPENDENTS)}
    for model_id in ("ft1", *INDEPENDENTS):
        weights = 1.0 - np.mean([gives[i] for i in INDEPENDENTS if i != model_id], axis=0)
        expected = 1.0 - np.sum(weights * gives[model_id]) / weights.sum()
        assert found.distances[model_id] == pytest.approx(expected)
    assert found.flips == SOURCE_CROP_PROBES
    assert found.distances["ft1"] < min(found.distances[i] for i in INDEPENDENTS)
    # a model of another task is not read, and says why
    assert math.isnan(found.distances["transfer"]) and "other output classes" in found.reasons["transfer"]


def test_it_is_read_raw_and_each_calibration_weighs_it_without_the_independents_it_leaves_out(zoo_and_references):
    zoo, references = zoo_and_references
    settings = ReadingSettings(calibration="relative")
    result = audit(
        zoo, "source", ["ft1", "ind0"], None, ("disagreement", SOURCE_CROPS), references, FIELD, settings=settings
    )
    assert not MethodReading(result.evidence, SOURCE_CROPS, INDEPENDENTS, settings).reads_anchors
    distances = result.evidence.distances[SOURCE_CROPS]
    expected = calibrate(distances["ft1"], [distances[i] for i in INDEPENDENTS], result.alpha)
    score = result.row("ft1", SOURCE_CROPS).score
    assert score == pytest.approx(expected.score) and score > 0
    assert result.row("ind0", SOURCE_CROPS).verdict != "n/a"  # against the other four, weighed without ind0


def test_without_independents_every_model_is_not_available_and_says_why(zoo_and_references):
    from gifviz.audit.evidence import method_evidence

    zoo, references = zoo_and_references
    found = method_evidence(zoo, "source", ["ft1"], [SOURCE_CROPS], references)
    assert math.isnan(found.distances[SOURCE_CROPS]["ft1"])
    assert found.reasons[SOURCE_CROPS]["ft1"] == "source-crops weighs the crops by the independents, and there are none"


def test_a_source_that_answers_queries_only_still_has_it(tmp_path):
    manifest, refs = lineage_zoo(tmp_path)
    manifest.write_text(manifest.read_text().replace('id = "source"\n', 'id = "source"\naccess = "query"\n'))
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space)
    result = audit(zoo, "source", ["ft1"], None, ("disagreement", SOURCE_CROPS), references, FIELD)
    assert result.row("ft1", SOURCE_CROPS).verdict != "n/a"


def test_the_command_takes_it_by_name_and_estimates_its_cost(lineage, tmp_path, zoo_and_references):
    from gifviz.bench.costs import method_costs
    from gifviz.config import FieldConfig

    manifest, refs = lineage
    methods = audited_methods(manifest, refs, tmp_path / "report", "ft1", f"disagreement,{SOURCE_CROPS}")
    assert methods == {"disagreement", SOURCE_CROPS, "combined"}
    _, references = zoo_and_references
    cost = method_costs(["a"], [SOURCE_CROPS], references, FieldConfig())[0]
    assert cost.title == "source crops" and cost.evaluations == SOURCE_CROP_PROBES  # whatever the references
