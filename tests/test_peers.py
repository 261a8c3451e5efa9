"""Peer methods: each behaves as its paper says on models whose relations are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from gifviz.builtin_zoo.data import zoo_data
from gifviz.errors import GifvizError
from gifviz.hub import Zoo
from gifviz.hub.builtin import builtin_manifest_path
from gifviz.methods import PEERS, MethodInputs, Signature, method_matrix
from gifviz.methods.peers.cka import cka_distance
from gifviz.methods.peers.evaluation import model_outputs
from gifviz.methods.peers.modeldiff import EPSILON, craft_pairs
from gifviz.methods.peers.outputs import disagreement, softmax_distance
from gifviz.methods.peers.sac import misclassified
from gifviz.methods.peers.zest import lime_masks, lime_solver, lime_weights
from gifviz.refs import ReferenceSet, cutmix


@pytest.fixture(scope="module")
def lineage():
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    models = [zoo.load(i) for i in ("src-cnn", "ft-cnn-1", "indep-cnn_deep-1", "transfer-cnn-1")]
    split = zoo_data()["reference"]
    references = ReferenceSet(split.images[:24], tuple(f"r{i}" for i in range(24)), split.labels["digit"][:24])
    return zoo, models, references


@pytest.mark.parametrize("name", [n for n in PEERS if n != "sac-w"])
def test_every_peer_puts_a_fine_tuned_copy_closer_than_an_independent_model(lineage, name):
    zoo, models, references = lineage
    matrix = method_matrix(name, zoo, [m.id for m in models], MethodInputs(references, probe=models[0]))
    values = matrix.values
    assert np.allclose(np.diag(values), 0) and np.allclose(values, values.T, equal_nan=True)
    derived, independent = matrix.distance("src-cnn", "ft-cnn-1"), matrix.distance("src-cnn", "indep-cnn_deep-1")
    # Top-1 agreement ties on easy inputs (both models get all 24 right): its known weakness.
    assert derived <= independent if name == "disagreement" else derived < independent
    transfer = matrix.distance("src-cnn", "transfer-cnn-1")
    # Methods that compare outputs class by class cannot compare a parity model with a digit model.
    assert np.isnan(transfer) == PEERS[name].shared_outputs
    assert matrix.provenance["method"] == name
    assert matrix.provenance.get("probe") == ("src-cnn" if PEERS[name].uses_probe else None)


def test_sac_w_uses_the_probes_mistakes_and_says_when_it_has_too_few(lineage):
    _, models, references = lineage
    test = zoo_data()["test"]
    pool = ReferenceSet(test.images, tuple(map(str, range(len(test)))), test.labels["digit"])
    wrong = misclassified(MethodInputs(pool), models[0])
    assert len(wrong) >= 4
    # Every returned image is one of the pool's, and the probe gets each of them wrong.
    flat_pool = pool.images.flatten(1)
    rows = [int((flat_pool == image.flatten()).all(1).nonzero()[0, 0]) for image in wrong]
    predictions = model_outputs(models[0], wrong).argmax(1)
    assert all(int(predictions[k]) != int(pool.labels[row]) for k, row in enumerate(rows))
    pool_wrong = int((model_outputs(models[0], pool.images).argmax(1) != pool.labels).sum())
    assert len(wrong) == pool_wrong  # and none of its mistakes is left out
    matrix = method_matrix("sac-w", lineage[0], [m.id for m in models], MethodInputs(pool, probe=models[0]))
    assert matrix.distance("src-cnn", "ft-cnn-1") < matrix.distance("src-cnn", "indep-cnn_deep-1")
    with pytest.raises(GifvizError, match="labels"):
        misclassified(MethodInputs(ReferenceSet(references.images, references.names)), models[0])
    with pytest.raises(GifvizError, match="misclassifies"):
        misclassified(MethodInputs(references), models[0])  # the source gets (almost) all of 24 right


def test_output_peers_match_a_hand_count():
    a = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
    b = a[:, [1, 0]]  # swapped classes: every prediction differs
    sa, sb = Signature(a, (2, None)), Signature(b, (2, None))
    assert disagreement(sa, sb, None) == 1.0
    assert disagreement(sa, Signature(a.clone()), None) == 0.0
    expected = float(np.mean([np.hypot(0.8, 0.8), np.hypot(0.6, 0.6), np.hypot(0.2, 0.2), np.hypot(0.4, 0.4)]))
    assert softmax_distance(sa, sb, None) == pytest.approx(expected)
    assert disagreement(sa, sb, np.array([0, 0])) == 1.0


def test_cka_ignores_rotation_and_scale_of_the_features_but_not_their_content():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(40, 12, generator=generator, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(12, 12, generator=generator, dtype=torch.float64))
    assert cka_distance(Signature(features), Signature(3.0 * features @ rotation), None) == pytest.approx(0, abs=1e-12)
    other = torch.randn(40, 12, generator=generator, dtype=torch.float64)
    assert cka_distance(Signature(features), Signature(other), None) > 0.3


def test_zest_fit_equals_scikit_learn_weighted_ridge():
    masks = lime_masks(seed=3)
    outputs = np.random.default_rng(1).random((masks.shape[0], 5))
    for column in range(outputs.shape[1]):
        expected = Ridge(alpha=1.0).fit(masks, outputs[:, column], sample_weight=lime_weights(masks)).coef_
        np.testing.assert_allclose(lime_solver(masks) @ outputs[:, column], expected, atol=1e-12)


def test_modeldiff_partners_stay_in_the_budget_and_change_the_probes_output(lineage):
    _, models, references = lineage
    images, partners = craft_pairs(MethodInputs(references), models[0])
    assert float((partners - images).abs().max()) <= EPSILON + 1e-6
    assert partners.min() >= 0 and partners.max() <= 1
    with torch.no_grad():
        before = models[0].module(images).softmax(1)
        after = models[0].module(partners).softmax(1)
    assert float((before - after).abs().sum(1).mean()) > 1e-3


def test_cutmix_pastes_one_box_of_another_image_and_is_seeded():
    images = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 8, 8).clone()
    mixed = cutmix(images, seed=5)
    assert torch.equal(mixed, cutmix(images, seed=5)) and not torch.equal(mixed, cutmix(images, seed=6))
    for i in range(4):
        values = set(mixed[i].unique().tolist())
        assert i in values or len(values) == 1  # its own pixels, plus at most one partner's box
        assert len(values) <= 2


def test_peers_run_on_an_exported_program(tmp_path):
    """Exported .pt2 programs refuse ``eval()``: peers must use the hub's eval mode, not set it again."""
    from conftest import write_pngs

    from gifviz.hub.architectures import build_architecture
    from gifviz.refs import load_reference_folder

    torch.manual_seed(0)
    cnn = build_architecture("cnn_small", 10, "cnn").eval()
    program = torch.export.export(
        cnn, (torch.rand(2, 3, 32, 32),), dynamic_shapes={"x": {0: torch.export.Dim("batch", max=8192)}}
    )
    torch.export.save(program, str(tmp_path / "cnn.pt2"))
    (tmp_path / "zoo.toml").write_text(
        'name = "pt2"\n[input]\nchannels = 3\nsize = [32, 32]\n'
        '[[models]]\nid = "exported"\nfile = "cnn.pt2"\ntrusted = true\n'
        '[[models]]\nid = "again"\nfile = "cnn.pt2"\ntrusted = true\n'
    )
    zoo = Zoo.open(tmp_path / "zoo.toml")
    references = load_reference_folder(write_pngs(tmp_path / "refs", 6, size=32, channels=3), zoo.space)
    models = zoo.load_all()
    for name in ("softmax", "modeldiff", "sac-m"):
        matrix = method_matrix(name, zoo, list(zoo.ids), MethodInputs(references, probe=models[0]))
        assert matrix.distance("exported", "again") == pytest.approx(0.0, abs=1e-12)
