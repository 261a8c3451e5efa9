"""The built-in zoo: deterministic data, a reduced build with its checks, and the shipped zoo itself."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from gifviz import FieldConfig, distance_matrix
from gifviz.builtin_zoo import build as build_module
from gifviz.builtin_zoo.build import ZooBuildError, build_zoo
from gifviz.builtin_zoo.data import TASKS, _make_split, zoo_data
from gifviz.builtin_zoo.recipes import FULL, SMOKE, plan
from gifviz.builtin_zoo.training import extract, predict, seeded
from gifviz.builtin_zoo.verify import one_per_architecture_and_task, verify_zoo
from gifviz.cli import main
from gifviz.hub import Zoo
from gifviz.hub.architectures import build_architecture
from gifviz.hub.builtin import builtin_manifest_path
from gifviz.jobs import store_fields
from gifviz.refs import load_reference_folder

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"
# The smoke scale on a tenth of the training and attacker images, not its quarter: every family, recipe, file and
# check of a build in about half the time (what these tests read needs no accuracy; smoke's thresholds are 0 anyway).
TINY = dataclasses.replace(SMOKE, name="tiny", train_fraction=0.1)


def test_data_is_deterministic_and_labels_are_consistent():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    index = np.arange(12)
    first = _make_split("test", index, 2, bunch.images, bunch.target)
    second = _make_split("test", index, 2, bunch.images, bunch.target)
    assert torch.equal(first.images, second.images)
    assert first.images.shape == (24, 3, 32, 32) and first.images.min() >= 0 and first.images.max() <= 1
    labels = first.labels
    assert torch.equal(labels["parity"], labels["digit"] % 2)
    assert torch.equal(labels["ge5"], (labels["digit"] >= 5).long())
    assert set(labels) == set(TASKS)


def test_splits_come_from_disjoint_digits():
    data = zoo_data()
    assert {name: len(split) for name, split in data.items()} == {
        "train": 3952,
        "test": 810,
        "attacker": 1795,
        "reference": 360,
    }
    # No image of one split appears in another (they come from different source digits).
    train = {hash(img.numpy().tobytes()) for img in data["train"].images}
    assert not any(hash(img.numpy().tobytes()) in train for img in data["test"].images)


def _centred_gap(student, victim, images) -> float:
    a, b = predict(student, images), predict(victim, images).log_softmax(1)
    return float(((a - a.mean(1, keepdim=True)) - (b - b.mean(1, keepdim=True))).pow(2).mean())


def test_extraction_counts_its_queries_and_learns_the_victims_answers():
    images = zoo_data()["attacker"].images[:96]
    seeded(0)
    victim = build_architecture("cnn_small", 10, "victim").eval()
    with torch.no_grad():  # confident answers, far from a fresh student's near-zero logits
        victim.head.weight.mul_(20)
        victim.head.bias.copy_(torch.linspace(-3, 3, 10))
    seeded(1)
    student = build_architecture("cnn_small", 10, "student")
    before = _centred_gap(student, victim, images)
    student, queries = extract(student, victim, images, answer="probabilities", epochs=30, lr=1e-2, seed=0)
    assert queries == 30 * 96
    assert _centred_gap(student, victim, images) < 0.5 * before  # it moved towards the victim's log-probabilities
    # A second, adversarial round doubles the pool: the originals plus one FGSM point each.
    _, queries = extract(student, victim, images, answer="label", epochs=1, lr=1e-3, seed=0, rounds=2)
    assert queries == 96 + 2 * 96
    with pytest.raises(ValueError, match="answer must be"):
        extract(student, victim, images, answer="logits", epochs=1, lr=1e-3, seed=0)


def test_full_plan_has_every_family_and_relation_five_times():
    recipes = plan(FULL)
    ids = [r.id for r in recipes]
    assert len(ids) == len(set(ids))
    relations = Counter((r.family, r.relation) for r in recipes)
    for relation in ("finetune", "prune", "extract-label", "extract-prob", "extract-adv", "transfer"):
        assert relations[("lineage", relation)] == 10  # five per source, two sources
    assert relations[("lineage", "independent")] >= 5 and relations[("lineage", "transfer-independent")] >= 5
    assert relations[("tasks", "task")] == len(TASKS)
    for relation in ("retrained", "unlearned", "unrelated"):
        assert relations[("unlearning", relation)] == 5
    position = {r.id: i for i, r in enumerate(recipes)}
    assert all(position[r.parent] < position[r.id] for r in recipes if r.parent)  # parents first
    architectures = {r.arch for r in recipes}
    assert {"cnn_small", "cnn_deep", "cnn_wide", "mlp", "resnet_tiny", "vit_tiny", "tv_shufflenet"} <= architectures


@pytest.fixture(scope="module")
def reduced_zoo(tmp_path_factory) -> Path:
    """The reduced zoo with all three families, built once for every test that needs one (a build is the slow part)."""
    return build_zoo(tmp_path_factory.mktemp("tiny"), TINY)


def test_reduced_build_writes_a_loadable_manifest_with_lineage(reduced_zoo):
    zoo = Zoo.open(reduced_zoo)
    specs = {spec.id: spec for spec in zoo.specs}
    assert specs["ft-cnn-1"].parent == "src-cnn" and specs["ft-cnn-1"].relation == "finetune"
    assert specs["xadv-res-1"].parent == "src-res" and specs["xadv-res-1"].arch in {"cnn_deep", "resnet_tiny"}
    assert specs["unl-approx-1"].parent == "unl-reference"
    for spec in specs.values():
        assert {"family", "recipe", "seed", "accuracy", "digest"} <= set(spec.extra)
        assert spec.extra["recipe"]["min_accuracy"] == 0.0
    assert "sparsity" in specs["prune-cnn-1"].extra["metrics"]
    assert "forget_accuracy" in specs["unl-retrained-1"].extra["metrics"]
    # Every model reloads with its recorded digest, and one per architecture and task gives its recorded accuracy.
    measured = one_per_architecture_and_task(specs.values())
    assert len(measured) == len({(s.arch, s.task) for s in specs.values()}) < len(specs)
    report = verify_zoo(reduced_zoo, quick=True)
    assert not report.problems and report.checked == len(specs) and report.measured == len(measured)
    assert len(list((reduced_zoo.parent / "refs").glob("*.png"))) == 128


def test_quick_verify_fails_on_a_wrong_accuracy_of_a_model_it_measures(reduced_zoo, tmp_path, capsys):
    copy = tmp_path / "zoo"
    shutil.copytree(reduced_zoo.parent, copy)
    zoo = Zoo.open(copy / "zoo.toml")
    wrong = one_per_architecture_and_task(zoo.specs)[0]
    recorded = zoo.spec(wrong).extra["accuracy"]
    text = (copy / "zoo.toml").read_text()
    start = text.index(f'id = "{wrong}"')
    (copy / "zoo.toml").write_text(text[:start] + text[start:].replace(f"accuracy = {recorded}", "accuracy = 0.01", 1))
    assert main(["zoo", "verify", str(copy / "zoo.toml"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert f"model {wrong!r}: accuracy" in err and "0.0100" in err


def test_same_seed_gives_the_same_model(reduced_zoo, tmp_path):
    # Built again alone, after none of the other families: each recipe seeds itself, so nothing depends on order.
    again = build_zoo(tmp_path, TINY, ["tasks"])
    first, second = Zoo.open(reduced_zoo), Zoo.open(again)
    assert second.ids and set(second.ids) <= set(first.ids)
    for spec in second.specs:
        assert spec.extra["digest"] == first.spec(spec.id).extra["digest"]
        assert spec.extra["accuracy"] == first.spec(spec.id).extra["accuracy"]
    first_csv, second_csv = reduced_zoo.parent / "transferability.csv", again.parent / "transferability.csv"
    assert first_csv.read_text() == second_csv.read_text()


def test_a_model_below_its_threshold_fails_the_build(tmp_path, monkeypatch):
    strict = [dataclasses.replace(r, min_accuracy=1.01) for r in plan(TINY, ["tasks"])[:1]]
    monkeypatch.setattr(build_module, "plan", lambda scale, families: strict)
    with pytest.raises(ZooBuildError, match=r"task-digit .* < 1.01"):
        build_zoo(tmp_path, TINY, ["tasks"])


shipped = pytest.mark.skipif(not SHIPPED.exists(), reason="the built-in zoo has not been built into assets/")


@shipped
def test_shipped_zoo_loads_and_reproduces_its_recorded_accuracies(capsys):
    # Every digest, and the accuracy of one model per architecture and task (`--quick`): the forward passes of all
    # 94 models took most of this file's time, and a digest that matches already proves the weights (`gifviz zoo
    # verify` without `--quick` re-measures all of them).
    specs = Zoo.open(SHIPPED).specs
    measured = len({(s.arch, s.task) for s in specs})
    assert len(specs) >= 90 and measured >= 15
    assert main(["zoo", "verify", str(SHIPPED), "--quick"]) == 0
    assert f"ok: {len(specs)} models load, digests match, {measured} accuracies within 0.002" in capsys.readouterr().out
    assert builtin_manifest_path("builtin") == SHIPPED


@shipped
def test_shipped_zoo_is_small_and_has_all_families():
    size = sum(p.stat().st_size for p in SHIPPED.parent.rglob("*") if p.is_file())
    assert size < 30 * 2**20
    zoo = Zoo.open(SHIPPED)
    families = Counter(spec.extra["family"] for spec in zoo.specs)
    assert set(families) == {"lineage", "tasks", "unlearning"}
    assert (SHIPPED.parent / "transferability.csv").exists()


@shipped
def test_modelgif_puts_derived_models_closer_to_their_source_than_independent_ones():
    zoo = Zoo.open(SHIPPED)
    refs = load_reference_folder(SHIPPED.parent / "refs", zoo.space, n=16)
    for source in ("src-cnn", "src-res"):
        short = source.removeprefix("src-")
        derived = [s.id for s in zoo.specs if s.parent == source and s.relation in ("finetune", "prune")]
        independent = [s.id for s in zoo.specs if s.relation == "independent"]
        ids = [source, *derived, *independent]
        fields = store_fields(zoo, refs, FieldConfig(steps=8), ids)
        matrix = distance_matrix([fields[i] for i in ids], ids)
        worst_derived = max(matrix.distance(source, d) for d in derived)
        best_independent = min(matrix.distance(source, i) for i in independent)
        assert len(derived) == 10 and worst_derived < best_independent, (short, worst_derived, best_independent)
