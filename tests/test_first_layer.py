"""First-layer weights (gifviz.methods.first_layer) and how the audit reads them (gifviz.audit.names.WEIGHT_METHODS):
the layer it picks, the matching, the models it cannot compare; raw under every rule, fused for a suspect of another
task, calibrated against every independent it can compare under the other-kinds cross-task null."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from conftest import batch_normed_cnn, make_cnn, read_audit, save_frozen, write_pngs, write_zoo
from torch import nn

from gifviz.audit.calibration import calibrate
from gifviz.audit.evidence import Evidence
from gifviz.audit.names import CROSS_TASK_METHODS, DEFAULT_FUSION, OTHER_KINDS, WEIGHT_METHODS
from gifviz.audit.roles import AuditRoles
from gifviz.audit.run_audit import COMBINED, audit
from gifviz.audit.settings import ReadingSettings
from gifviz.hub import Zoo
from gifviz.hub.query_only import QueryOnlyModel
from gifviz.methods import METHODS, MethodInputs, Signature, method_matrix
from gifviz.methods.first_layer import UNDEFINED, first_layer, first_layer_distance, matched_cosine
from gifviz.refs import load_reference_folder


class TokenFirst(nn.Module):
    """A ViT-like order: a 3-d token and a 1-d scale registered before the patch embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.scale = nn.Parameter(torch.ones(3))
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.head = nn.Linear(8, 2)


def test_the_first_layer_is_the_first_linear_or_conv_weight_and_a_query_only_model_has_none():
    name, weight = first_layer(TokenFirst())
    assert name == "patch.weight" and tuple(weight.shape) == (8, 3, 4, 4)
    assert first_layer(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)))[0] == "1.weight"
    assert first_layer(QueryOnlyModel(make_cnn(0))) is None
    assert first_layer(nn.ReLU()) is None


def test_matching_ignores_the_order_and_scale_of_filters_and_a_pruned_filter_matches_nothing():
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(6, 9))
    shuffled = bank[rng.permutation(6)] * rng.uniform(0.5, 2.0, size=(6, 1))
    assert matched_cosine(bank, shuffled) == pytest.approx(1.0)
    pruned = bank.copy()
    pruned[2] = 0.0
    assert matched_cosine(bank, pruned) == pytest.approx(5 / 6)
    unrelated = rng.normal(size=(6, 9))
    assert matched_cosine(bank, unrelated) < 0.9


def test_first_layers_of_other_shapes_have_no_distance():
    a = Signature(np.ones((1, 4, 9)))
    assert math.isnan(first_layer_distance(a, Signature(np.ones((1, 8, 9))), None))
    assert math.isnan(first_layer_distance(a, Signature(np.zeros((1, 0, 0))), None))
    assert first_layer_distance(a, a, np.array([0, 0])) == pytest.approx(0.0)  # rows do not matter
    assert METHODS["first-layer"].undefined == UNDEFINED


def test_a_fine_tuned_or_transfer_copy_keeps_the_first_layer_and_an_independent_does_not(tmp_path):
    source = make_cnn(0)
    transfer = make_cnn(50, classes=5)
    transfer.features.load_state_dict(source.features.state_dict())
    tuned = make_cnn(0)
    with torch.no_grad():
        for parameter in tuned.parameters():
            parameter.add_(0.05 * parameter.abs().mean() * torch.randn(parameter.shape))
    models = {"source": source, "tuned": tuned, "transfer": transfer, "other": make_cnn(7)}
    zoo = Zoo.open(write_zoo(tmp_path, models))  # TorchScript files
    references = load_reference_folder(write_pngs(tmp_path / "refs", 4), zoo.space)
    matrix = method_matrix("first-layer", zoo, list(models), MethodInputs(references))
    assert matrix.distance("source", "transfer") == pytest.approx(0.0, abs=1e-9)
    assert matrix.distance("source", "tuned") < 0.05 < 0.2 < matrix.distance("source", "other")
    assert np.allclose(matrix.values, matrix.values.T)


def test_the_audit_reads_first_layer_raw_fuses_it_for_a_transfer_model_and_calibrates_it_on_every_independent():
    """By hand: under the other-kinds null a transfer model's ModelGiF is read against the other kinds only, its
    first-layer distance against every independent that has one (the source's own kind included), raw."""
    kin, others = ("k1", "k2"), ("o1", "o2", "o3", "o4")
    independents = (*kin, *others)
    suspects = ("newhead", "thief")
    models = (*independents, *suspects)
    modelgif = {"k1": 0.3, "k2": 0.34, "o1": 0.8, "o2": 0.84, "o3": 0.78, "o4": 0.86, "newhead": 0.5, "thief": 0.45}
    # first layers: the kin and two other kinds share the source's shape; o3 and o4 do not
    weights = {"k1": 0.5, "k2": 0.55, "o1": 0.45, "o2": 0.6, "o3": math.nan, "o4": math.nan}
    weights.update(newhead=0.01, thief=0.52)
    to_anchors = {
        m: {a: 0.4 + 0.01 * (independents.index(a) + models.index(m)) for a in independents if a != m} for m in models
    }
    evidence = Evidence(
        "source",
        {"modelgif": modelgif, "first-layer": weights},
        {"modelgif": {}, "first-layer": {"o3": UNDEFINED, "o4": UNDEFINED}},
        {"modelgif": 128, "first-layer": 1},
        {"modelgif": to_anchors, "first-layer": to_anchors},
        other_classes=frozenset({"newhead"}),
        same_architecture=frozenset({"source", *kin}),
    )
    roles = AuditRoles("source", suspects, independents)
    result = read_audit(evidence, roles, ["modelgif", "first-layer"], ReadingSettings(cross_task_null=OTHER_KINDS))
    assert "first-layer" in WEIGHT_METHODS and "first-layer" in CROSS_TASK_METHODS
    row = result.row("newhead", "first-layer")
    expected = calibrate(0.01, [0.5, 0.55, 0.45, 0.6], 0.05)  # raw, every independent with a first layer to compare
    assert (row.score, row.p_tail, row.independents) == pytest.approx((expected.score, expected.p_tail, 4))
    assert "other architectures" not in row.note  # the other-kinds note is ModelGiF's
    assert result.row("newhead", "modelgif").independents == len(others)
    combined = result.row("newhead", COMBINED)
    assert f"{DEFAULT_FUSION} of modelgif, first-layer" in combined.note and math.isfinite(combined.distance)
    # a thief of the source's task: raw too (no anchor is subtracted), against the same four
    thief = result.row("thief", "first-layer")
    assert thief.score == pytest.approx(calibrate(0.52, [0.5, 0.55, 0.45, 0.6], 0.05).score)
    # each member of the transfer model's fused null reads first-layer against every other independent with one
    members = result.fused_null("newhead")
    assert set(members) == set(others)
    assert members["o1"]["first-layer"].independents == 3 and "first-layer" not in members["o3"]


def test_an_audit_with_first_layer_runs_on_torchscript_models_and_finds_the_transfer_model(lineage):
    manifest, references_folder = lineage
    zoo = Zoo.open(manifest)
    references = load_reference_folder(references_folder, zoo.space)
    result = audit(zoo, "source", methods=["modelgif", "first-layer"], references=references)
    assert result.row("transfer", "first-layer").verdict == "derived"
    assert result.row("ft1", "first-layer").verdict == "derived"
    assert "first-layer" in result.row("transfer", COMBINED).note
    assert result.row("parity", "first-layer").verdict != "derived"


def test_the_other_task_scope_fuses_first_layer_for_a_suspect_of_another_task_only():
    independents = ("i1", "i2", "i3", "i4")
    models = (*independents, "newhead", "thief", "lonely")
    modelgif = {"i1": 0.5, "i2": 0.55, "i3": 0.6, "i4": 0.52, "newhead": 0.5, "thief": 0.3, "lonely": math.nan}
    weights = {"i1": 0.5, "i2": 0.55, "i3": 0.45, "i4": 0.6, "newhead": 0.01, "thief": 0.5, "lonely": 0.02}
    to_anchors = {m: {a: 0.5 for a in independents if a != m} for m in models}
    evidence = Evidence(
        "source",
        {"modelgif": modelgif, "first-layer": weights},
        {"modelgif": {"lonely": "no gradients"}, "first-layer": {}},
        {"modelgif": 128, "first-layer": 1},
        {"modelgif": to_anchors, "first-layer": to_anchors},
        other_classes=frozenset({"newhead"}),
        same_architecture=frozenset({"source", *independents}),
    )
    roles = AuditRoles("source", ("newhead", "thief", "lonely"), independents)
    every = read_audit(evidence, roles, ["modelgif", "first-layer"])
    other_task = every.reread(weight_scope="other-task")
    assert f"{DEFAULT_FUSION} of modelgif, first-layer" in every.row("thief").note
    thief = other_task.row("thief")
    assert "first-layer not fused" in thief.note and thief.score == pytest.approx(
        other_task.row("thief", "modelgif").score
    )
    assert f"{DEFAULT_FUSION} of modelgif, first-layer" in other_task.row("newhead").note
    # a suspect only first-layer can compare keeps it
    assert other_task.row("lonely").verdict == every.row("lonely").verdict != "n/a"
    assert other_task.provenance["config"]["weight_scope"] == "other-task"
    assert other_task.combined_methods("thief") == ("modelgif",)
    assert every.combined_methods("thief") == ("modelgif", "first-layer")
    assert other_task.combined_methods("newhead") == ("modelgif", "first-layer")


class OuterEmbeddingFirst(nn.Module):
    """A CLIP-like order: a 2-d position embedding held by the outer module comes before the stem's weight."""

    def __init__(self) -> None:
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(17, 8))
        self.stem = nn.Conv2d(3, 8, 4, stride=4)


def test_only_a_layers_weight_counts_and_a_weight_norms_magnitude_does_not():
    assert first_layer(OuterEmbeddingFirst())[0] == "stem.weight"
    normed = nn.utils.parametrizations.weight_norm(nn.Conv2d(1, 4, 3))
    name, weight = first_layer(nn.Sequential(normed))
    assert name == "0.parametrizations.weight.original1" and tuple(weight.shape) == (4, 1, 3, 3)
    one_input = nn.Sequential(nn.Linear(1, 4), nn.Linear(4, 2))  # one weight per unit: no filter to compare
    assert first_layer(one_input)[0] == "1.weight"


def test_a_conv_and_a_linear_layer_of_as_many_weights_are_not_one_shape_and_infinite_weights_have_no_distance():
    conv = Signature(np.ones((1, 4, 1, 3, 3)))
    linear = Signature(np.ones((1, 4, 9)))
    assert math.isnan(first_layer_distance(conv, linear, None))
    broken = np.ones((1, 4, 1, 3, 3))
    broken[0, 0, 0, 0, 0] = np.inf
    assert math.isnan(first_layer_distance(conv, Signature(broken), None))


def test_a_frozen_torchscript_file_shows_its_first_layer_as_a_constant_of_its_graph(tmp_path):
    """Freezing folds the batch norm into the stem (each filter times a positive number), which the cosine does not
    see: a frozen copy, scripted or traced, reads at distance 0 from its source, an independent model far."""
    source = batch_normed_cnn(0)
    models = {"source": source, "scripted": source, "traced": source, "other": batch_normed_cnn(7)}
    manifest = write_zoo(tmp_path, models)
    save_frozen(source, tmp_path / "models" / "scripted.pt", traced=False)
    save_frozen(source, tmp_path / "models" / "traced.pt", traced=True)
    zoo = Zoo.open(manifest)
    for frozen, operation in (("scripted", "aten::conv2d"), ("traced", "aten::_convolution")):
        module = zoo.load(frozen).module
        assert not list(module.parameters())
        name, weight = first_layer(module)
        assert name == f"{operation} (frozen graph)" and weight.shape == (6, 1, 3, 3)
        assert not torch.allclose(weight, source[0].weight)  # folded, yet the same filters' directions
    references = load_reference_folder(write_pngs(tmp_path / "refs", 4), zoo.space)
    matrix = method_matrix("first-layer", zoo, list(models), MethodInputs(references))
    assert matrix.distance("source", "scripted") == pytest.approx(0.0, abs=1e-6)
    assert matrix.distance("source", "traced") == pytest.approx(0.0, abs=1e-6)
    assert matrix.distance("source", "other") > 0.2


def test_a_frozen_graph_whose_first_layer_takes_no_constant_weight_shows_none():
    class WeightAtRunTime(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("base", torch.randn(4, 1, 3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.conv2d(x, self.base * x.mean())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        frozen = torch.jit.freeze(torch.jit.script(WeightAtRunTime().eval()))
    assert any(node.kind() == "aten::conv2d" for node in frozen.graph.nodes())  # a layer, whose weight is computed
    assert first_layer(frozen) is None
