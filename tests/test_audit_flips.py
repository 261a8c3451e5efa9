"""``source-flips``, the audit's own evidence: flips crafted on the source, weighed by how few of the *other*
independents follow them, read raw under either calibration rule; n/a with its reason where it cannot run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lineage_zoo import INDEPENDENTS, lineage_zoo

from gifviz.audit import audit
from gifviz.audit.calibration import calibrate
from gifviz.audit.flips import FLIP_EPSILON, craft_flips, flip_evidence, weighted_distance
from gifviz.audit.names import SOURCE_FLIPS
from gifviz.audit.reading import MethodReading
from gifviz.audit.settings import ReadingSettings
from gifviz.errors import ConfigError
from gifviz.hub.zoo import Zoo
from gifviz.methods.peers.evaluation import model_outputs
from gifviz.refs import load_reference_folder
from tests.conftest import RecordingProgress, make_cnn, save_torchscript, write_zoo
from tests.test_audit import FIELD, audited_methods, cli

NO_WEIGHERS = "no other independent to weigh the flips with"
ALL_FOLLOWED = "every one of the flips is followed by every other independent"


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


def test_it_is_read_raw_and_each_calibration_weighs_it_without_the_independents_it_leaves_out(lineage, zoo_and_images):
    zoo, _ = zoo_and_images
    refs = lineage[1]
    references = load_reference_folder(refs, zoo.space)
    result = audit(
        zoo,
        "source",
        ["ft1", "ind0"],
        None,
        ("disagreement", SOURCE_FLIPS),
        references,
        FIELD,
        settings=ReadingSettings(calibration="relative"),
    )
    assert not MethodReading(
        result.evidence, SOURCE_FLIPS, INDEPENDENTS, ReadingSettings(calibration="relative")
    ).reads_anchors
    follows = result.evidence.follows[SOURCE_FLIPS]
    distances = result.evidence.distances[SOURCE_FLIPS]
    # ft1 against the five independents, each weighed by the other four
    expected = calibrate(distances["ft1"], [distances[i] for i in INDEPENDENTS], result.alpha)
    assert result.row("ft1", SOURCE_FLIPS).score == pytest.approx(expected.score)
    # the fine-tuned copy follows more of the weighted flips than any independent does
    assert distances["ft1"] < min(distances[i] for i in INDEPENDENTS) and result.row("ft1", SOURCE_FLIPS).score > 0
    # ind0 (a suspect and an independent) against the other four, each of them weighed without ind0 too: ind0's own
    # answers shape nothing it is read against
    others = [i for i in INDEPENDENTS if i != "ind0"]
    against = [weighted_distance(follows, k, others)[0] for k in others]
    assert against != [distances[k] for k in others]  # the stored values were weighed with ind0
    expected = calibrate(weighted_distance(follows, "ind0", others)[0], against, result.alpha)
    row = result.row("ind0", SOURCE_FLIPS)
    assert (row.score, row.p_value) == (pytest.approx(expected.score), expected.p_value)
    assert result.evidence.samples[SOURCE_FLIPS] == len(next(iter(follows.values())))


def test_the_weights_leave_the_model_out_and_say_why_a_value_cannot_be_read():
    follows = {
        "a": np.array([True, True, False, False]),
        "b": np.array([True, False, False, False]),
        "c": np.array([True, True, True, True]),
    }
    # flips weighed by the share of b that does not follow them: 0, 1, 1, 1; a follows one of the three that count
    assert weighted_distance(follows, "a", ["a", "b"]) == (pytest.approx(1 - 1 / 3), "")
    assert weighted_distance(follows, "a", ["a"]) == (pytest.approx(math.nan, nan_ok=True), NO_WEIGHERS)
    assert weighted_distance(follows, "a", ["c"]) == (pytest.approx(math.nan, nan_ok=True), ALL_FOLLOWED)


def test_a_source_of_one_class_has_nothing_to_flip_toward(tmp_path):
    zoo = Zoo.open(write_zoo(tmp_path, {"one": make_cnn(0, classes=1)}))
    probes, targets = craft_flips(zoo.load("one"), torch.rand(3, 1, 16, 16), zoo.space.value_range)
    assert probes.shape == (0, 1, 16, 16) and targets.shape == (0,)


def test_the_crafting_shows_its_progress_once_for_the_source(zoo_and_images):
    zoo, images = zoo_and_images
    progress = RecordingProgress()
    flip_evidence(zoo, "source", ["ft1"], INDEPENDENTS[:2], images, progress)
    total = len(images) * 9
    assert progress.calls[0] == ("start", "source (source-flips)", 0, 1, total)
    assert progress.calls[-1] == ("finish", "source (source-flips)")
    advances = [call[1] for call in progress.calls[1:-1]]
    assert advances == sorted(advances) and advances[-1] == total
    assert all(call[2] == total for call in progress.calls[1:-1])


class Detached(torch.nn.Module):
    """A network whose outputs carry no gradient to its input (as an API wrapped without being marked so)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.detach())


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("query", "source-flips crafts its probes from the source's gradients, and 'source' answers queries only"),
        ("detached", "source-flips needs the gradients of 'source''s outputs"),
    ],
)
def test_a_source_without_gradients_leaves_it_not_available_and_the_rest_runs(tmp_path, kind, reason):
    manifest, refs = lineage_zoo(tmp_path)
    if kind == "query":
        manifest.write_text(manifest.read_text().replace('id = "source"\n', 'id = "source"\naccess = "query"\n'))
    else:
        save_torchscript(Detached(make_cnn(0)), tmp_path / "models" / "source.pt")
    zoo = Zoo.open(manifest)
    references = load_reference_folder(refs, zoo.space)
    result = audit(zoo, "source", ["ft1"], None, ("disagreement", SOURCE_FLIPS), references, FIELD)
    row = result.row("ft1", SOURCE_FLIPS)
    assert row.verdict == "n/a" and reason in row.note and "\n" not in row.note
    assert result.row("ft1", "disagreement").verdict != "n/a"
    assert result.provenance["method_failures"][SOURCE_FLIPS].startswith(reason)


def test_the_command_takes_it_by_name_and_refuses_an_unknown_one(lineage, tmp_path, capsys):
    manifest, refs = lineage
    out = tmp_path / "report"
    methods = audited_methods(manifest, refs, out, "ft1,ind0", f"disagreement,{SOURCE_FLIPS}")
    assert methods == {"disagreement", SOURCE_FLIPS, "combined"}
    assert cli(manifest, refs, "audit", "--source", "source", "--methods", "flips", "--out", str(out)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and SOURCE_FLIPS in error
    with pytest.raises(ConfigError, match="choose one of"):
        audit(Zoo.open(manifest), "source", methods=("flips",))


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
