"""``source-flips``, the audit's own evidence: flips crafted on the source, weighed by how few of the *other*
independents follow them, read raw under either calibration rule; n/a with its reason where it cannot run."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gifviz.audit import audit
from gifviz.audit.calibration import calibrate
from gifviz.audit.flips import FLIP_EPSILON, craft_flips, flip_evidence
from gifviz.audit.names import AUDIT_METHODS, SOURCE_FLIPS
from gifviz.audit.reading import MethodReading
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods.peers.evaluation import model_outputs
from gifviz.refs import load_reference_folder
from tests.test_audit import FIELD, INDEPENDENTS, cli, lineage_zoo


@pytest.fixture(scope="module")
def lineage(tmp_path_factory) -> tuple[Path, Path]:
    return lineage_zoo(tmp_path_factory.mktemp("flips"))


@pytest.fixture(scope="module")
def zoo_and_images(lineage):
    manifest, refs = lineage
    zoo = Zoo.open(manifest)
    return zoo, load_reference_folder(refs, zoo.space).images


def test_each_flip_is_near_its_reference_and_the_source_answers_its_target(zoo_and_images):
    zoo, images = zoo_and_images
    source = zoo.load("source")
    reference = images[:1]
    probes, targets = craft_flips(source, reference, zoo.space.value_range)
    assert 0 < len(probes) <= 9 and probes.shape[1:] == reference.shape[1:]
    low, high = zoo.space.value_range
    assert float((probes - reference).abs().max()) <= FLIP_EPSILON * (high - low) + 1e-6
    assert float(probes.min()) >= low and float(probes.max()) <= high
    assert torch.equal(model_outputs(source, probes).argmax(dim=1), targets)
    answer = int(model_outputs(source, reference).argmax())
    assert answer not in targets.tolist() and len(set(targets.tolist())) == len(targets)  # runner-ups, each once


def test_a_copy_follows_the_source_and_each_independent_is_weighed_without_itself(zoo_and_images):
    zoo, images = zoo_and_images
    ids = ["ft1", "transfer", *INDEPENDENTS]
    found = flip_evidence(zoo, "source", ids, INDEPENDENTS, images)
    probes, targets = craft_flips(zoo.load("source"), images, zoo.space.value_range)
    assert found.flips == len(probes) > 0
    follows = {m: (model_outputs(zoo.load(m), probes).argmax(dim=1) == targets).numpy() for m in INDEPENDENTS}
    for model_id in ("ft1", *INDEPENDENTS):
        weights = 1.0 - np.mean([follows[i] for i in INDEPENDENTS if i != model_id], axis=0)
        mine = follows.get(model_id)
        if mine is None:
            mine = (model_outputs(zoo.load(model_id), probes).argmax(dim=1) == targets).numpy()
        assert found.distances[model_id] == pytest.approx(1.0 - np.sum(weights * mine) / weights.sum())
    assert found.distances["ft1"] < min(found.distances[i] for i in INDEPENDENTS)
    # a model of another task is not read, and says why
    assert math.isnan(found.distances["transfer"]) and "other output classes" in found.reasons["transfer"]


def test_it_is_read_raw_under_the_relative_rule_and_fused_like_any_method(lineage, zoo_and_images):
    zoo, _ = zoo_and_images
    refs = lineage[1]
    references = load_reference_folder(refs, zoo.space)
    result = audit(
        zoo, "source", ["ft1", "ind0"], None, ("disagreement", SOURCE_FLIPS), references, FIELD, calibration="relative"
    )
    assert not MethodReading(result.evidence, SOURCE_FLIPS, "relative", INDEPENDENTS).relative
    distances = result.evidence.distances[SOURCE_FLIPS]
    # ft1 against the five independents' raw values; ind0 (leave-one-out) against the other four
    expected = calibrate(distances["ft1"], [distances[i] for i in INDEPENDENTS], result.alpha)
    assert result.row("ft1", SOURCE_FLIPS).score == pytest.approx(expected.score)
    assert result.row("ft1", SOURCE_FLIPS).verdict == "derived"
    assert "source-flips" in result.row("ft1").note or result.row("ft1").verdict == "derived"
    assert result.evidence.samples[SOURCE_FLIPS] > 0


def test_a_query_only_source_leaves_it_not_available_and_the_rest_runs(tmp_path):
    manifest, refs = lineage_zoo(tmp_path)
    text = manifest.read_text().replace('id = "source"\n', 'id = "source"\naccess = "query"\n')
    manifest.write_text(text)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space)
    result = audit(zoo, "source", ["ft1"], None, ("disagreement", SOURCE_FLIPS), references, FIELD)
    row = result.row("ft1", SOURCE_FLIPS)
    assert row.verdict == "n/a" and "answers queries only" in row.note
    assert result.row("ft1", "disagreement").verdict != "n/a"
    assert result.provenance["method_failures"][SOURCE_FLIPS].startswith("source-flips crafts its probes")


def test_the_command_takes_it_by_name_and_refuses_an_unknown_one(lineage, tmp_path, capsys):
    manifest, refs = lineage
    out = tmp_path / "report"
    args = ("audit", "--source", "source", "--suspects", "ft1,ind0", "--methods", f"disagreement,{SOURCE_FLIPS}")
    assert cli(manifest, refs, *args, "--out", str(out)) == 0
    with open(out / "audit.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == {"disagreement", SOURCE_FLIPS, "combined"}
    assert cli(manifest, refs, "audit", "--source", "source", "--methods", "flips", "--out", str(out)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and SOURCE_FLIPS in error
    with pytest.raises(ConfigError, match="choose one of"):
        audit(Zoo.open(manifest), "source", methods=("flips",))
    assert AUDIT_METHODS[-1] == SOURCE_FLIPS  # the parser's and the page's choices


def test_its_cost_is_estimated_before_it_runs_crafting_included(zoo_and_images):
    from gifviz.bench.costs import FIELD_SECONDS_PER_POINT, method_costs
    from gifviz.config import FieldConfig
    from gifviz.refs import ReferenceSet

    _, images = zoo_and_images
    references = ReferenceSet(images, tuple(f"r{i}" for i in range(len(images))))
    one, two = (
        method_costs(ids, [SOURCE_FLIPS, "disagreement"], references, FieldConfig())[0] for ids in (["a"], ["a", "b"])
    )
    assert one.title == "source flips" and one.evaluations == 9 * len(images)
    crafting = len(images) * 9 * 40 * FIELD_SECONDS_PER_POINT  # once, on the source, whatever the models
    assert one.seconds > crafting and two.seconds - one.seconds == pytest.approx(one.seconds - crafting)
    assert "40 forward and backward passes of the source" in one.note
