"""Seeded stress zoos: a tiny build is quick, deterministic, readable by the hub and the IPP testbed, and
records what every model was trained on; the full design has the thieves, budgets and independents it promises."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest
import torch

from gifviz.bench.ipp import ipp_cases
from gifviz.builtin_zoo.build import ZooBuildError
from gifviz.builtin_zoo.recipes import Recipe
from gifviz.builtin_zoo.stress import StressZooError, build_stress_zoo
from gifviz.builtin_zoo.stress_architectures import new_network
from gifviz.builtin_zoo.stress_checks import Predictions, agreement_rows, agreement_summary
from gifviz.builtin_zoo.stress_data import digit_splits, image_keys, images_digest, natural_queries
from gifviz.builtin_zoo.stress_plan import FULL, SMOKE, STRESS_SCALES, design, stress_plan
from gifviz.builtin_zoo.stress_train import StressData, extract_16px, label_thief_twin
from gifviz.cli import main
from gifviz.hub.zoo import Zoo

# A couple of models per category, one pass of training, a sliver of the data: seconds, not minutes.
TINY = dataclasses.replace(
    SMOKE,
    name="tiny",
    derived=1,
    thieves=2,
    independents=2,
    source_epochs=1,
    scratch_epochs=1,
    student_epochs=1,
    natural_epochs=1,
    natural_pool=64,
    data_fraction=0.05,
)
SEED = 3
ISSUE_ARCHS = {"mlp", "cnn_wide", "cnn_k5", "resnet_tiny"}  # the thieves' architectures the stress zoos promise
IPP_CATEGORIES = {"finetune", "prune", "extract-label", "extract-prob", "transfer"}


@pytest.fixture(scope="module")
def tiny_stress(tmp_path_factory) -> tuple[Path, float]:
    """(manifest, build seconds) of the tiny stress zoo of :data:`SEED`."""
    started = time.perf_counter()
    zoo = build_stress_zoo(SEED, tmp_path_factory.mktemp("stress") / "zoo", TINY)
    return zoo.manifest, time.perf_counter() - started


def entries(manifest: Path) -> list[dict]:
    return tomllib.loads(manifest.read_text())["models"]


def test_a_tiny_stress_zoo_builds_quickly_and_every_ipp_category_is_found(tiny_stress):
    manifest, seconds = tiny_stress
    assert seconds < 30
    zoo = Zoo.open(manifest)
    cases = ipp_cases(zoo)
    sources = {spec.id for spec in zoo.specs if spec.relation == "source"}
    assert len(sources) == 2
    for source in sources:  # every attack of every source is a case, with its own negatives
        assert {case.category for case in cases if case.source == source} == IPP_CATEGORIES
    archs = {zoo.spec(source).arch for source in sources}
    assert len(archs) == 2  # the two sources differ in architecture


def test_stress_models_load_as_torchscript_with_the_digests_the_manifest_records(tiny_stress):
    manifest, _ = tiny_stress
    zoo = Zoo.open(manifest)
    assert zoo.space.shape == (1, 16, 16)
    one_per_relation = {spec.relation: spec for spec in zoo.specs}.values()  # loading all takes seconds more
    for spec in one_per_relation:
        loaded = zoo.load(spec.id)
        assert isinstance(loaded.module, torch.jit.ScriptModule), spec.id
        assert loaded.digest == spec.extra["digest"], spec.id
        assert loaded.wrapped()(torch.rand(2, 1, 16, 16)).shape == (2, spec.num_classes)
    assert len(list((manifest.parent / "refs").glob("*.png"))) > 0


def test_the_same_seed_builds_the_same_models_and_another_seed_other_ones(tiny_stress, tmp_path):
    manifest, _ = tiny_stress
    first = {e["id"]: e["digest"] for e in entries(manifest)}
    again = build_stress_zoo(SEED, tmp_path / "again", TINY)
    assert {e["id"]: e["digest"] for e in entries(again.manifest)} == first
    other = build_stress_zoo(SEED + 1, tmp_path / "other", TINY)
    assert not set(first.values()) & {e["digest"] for e in entries(other.manifest)}


def test_natural_image_thieves_never_saw_task_data(tiny_stress):
    manifest, _ = tiny_stress
    natural = [e for e in entries(manifest) if e["recipe"]["data"] == "natural"]
    assert natural and all(e["relation"] == "extract-label" and e["recipe"]["answers"] == "label" for e in natural)
    digits = torch.cat([split.images for split in digit_splits(SEED).values()])
    for entry in natural:
        # The recorded digest names exactly the natural crops the thief sent, and none of them is a digit image.
        sent = natural_queries(SEED, TINY.natural_pool)[: entry["recipe"]["data_images"]]
        assert entry["recipe"]["data_digest"] == images_digest(sent), entry["id"]
        assert not image_keys(sent) & image_keys(digits)
    for entry in entries(manifest):  # and every other model records a digit split
        if entry not in natural:
            assert entry["recipe"]["data"].startswith("digits:"), entry["id"]


def test_the_cli_shows_stress_help():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stopped:
        main(["zoo", "stress", "--help"])
    assert stopped.value.code == 0
    assert "--seed" in out.getvalue() and "--scale" in out.getvalue()


def test_an_out_folder_that_holds_files_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["zoo", "stress", "--seed", "1", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gifviz: error:") and "already holds files" in error and "\n" not in error
    assert (tmp_path / "keep.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(("seed", "scale", "message"), [(-1, "full", "seed"), (1, "huge", "scale")])
def test_a_bad_seed_or_scale_is_one_clear_error(tmp_path, seed, scale, message):
    with pytest.raises(StressZooError, match=message):
        build_stress_zoo(seed, tmp_path / "zoo", scale)
    assert not (tmp_path / "zoo").exists()


def test_a_model_below_its_threshold_fails_the_build_and_leaves_out_untouched(tmp_path):
    impossible = dataclasses.replace(TINY, threshold=100.0, thieves=1)
    with pytest.raises(ZooBuildError, match="below their accuracy threshold"):
        build_stress_zoo(SEED, tmp_path / "zoo", impossible)
    assert list(tmp_path.iterdir()) == []  # neither the zoo nor its staging folder


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_full_design_has_every_thief_budget_and_independent_it_promises(seed):
    recipes = stress_plan(seed, FULL)
    assert len({r.id for r in recipes}) == len(recipes)
    chosen = design(seed)
    by_relation = Counter(r.relation for r in recipes)
    assert by_relation["independent"] >= 6 and by_relation["transfer-independent"] >= 6
    independents = [r for r in recipes if r.relation == "independent"]
    assert set(chosen.source_archs) <= {r.arch for r in independents} and len({r.arch for r in independents}) >= 4
    for source in (r for r in recipes if r.relation == "source"):
        thieves = [r for r in recipes if r.parent == source.id and r.kind.startswith("extract")]
        for queries in ("digits:attacker", "natural"):
            mine = [r for r in thieves if r.params["data"] == queries]
            # the source's own architecture and every other one the issue names, with more than one budget
            assert source.arch in {r.arch for r in mine} and {r.arch for r in mine} | {source.arch} >= ISSUE_ARCHS
            assert len({r.params["budget"] for r in mine}) > 1
        assert {r.relation for r in thieves} == {"extract-label", "extract-prob"}
        # transfer models trained lightly and with the independents' own budget, on the task they are read against
        transfers = [r for r in recipes if r.parent == source.id and r.relation == "transfer"]
        independent = next(r for r in recipes if r.relation == "transfer-independent")
        assert {r.params["epochs"] for r in transfers} == {FULL.derive_epochs, FULL.scratch_epochs}
        long = [r for r in transfers if r.id.startswith("transferlong-")]
        assert len(long) == FULL.derived and all(r.params["lr"] == independent.params["lr"] for r in long)
        assert {r.task for r in transfers} == {independent.task} == {chosen.transfer_task}
    assert len({r.seed for r in recipes}) == len(recipes)


def test_the_design_varies_with_the_seed():
    chosen = [design(seed) for seed in (1, 2, 3, 4)]
    assert all(len(set(c.source_archs)) == 2 for c in chosen)
    assert len({c.source_archs for c in chosen}) > 1 or len({c.transfer_task for c in chosen}) > 1


def test_agreement_checks_compare_transfer_models_on_their_own_task():
    def recipe(model_id: str, relation: str, task: str = "digit", parent: str | None = None) -> Recipe:
        return Recipe(model_id, "lineage", "mlp", task, "scratch", relation, 0, parent, {"data": "digits:train"})

    recipes = [
        recipe("src", "source"),
        recipe("move", "transfer", "parity", "src"),
        recipe("indep", "transfer-independent", "parity"),
    ]
    source_says = torch.tensor([7, 2, 4, 5])  # odd, even, even, odd
    predictions = {
        "src": Predictions(source_says, source_says),
        "move": Predictions(torch.tensor([1, 0, 0, 1]), torch.tensor([1, 0, 0, 0])),
        "indep": Predictions(torch.tensor([0, 1, 0, 1]), torch.tensor([0, 1, 1, 0])),
    }
    rows = {row["model"]: row for row in agreement_rows(recipes, predictions, dict.fromkeys(predictions, 0.9))}
    assert rows["move"]["agreement_test"] == 1.0 and rows["move"]["agreement_natural"] == 0.75
    assert rows["indep"]["agreement_test"] == 0.5 and rows["indep"]["agreement_natural"] == 0.0
    (summary,) = agreement_summary(list(rows.values()))
    assert summary["group"] == "transfer" and summary["separated_test"] and summary["separated_natural"]
    assert summary["above_same_arch_test"] == "1/1"  # both are MLPs


def test_the_parser_lists_the_library_scales():
    from gifviz.cli import choices

    assert tuple(STRESS_SCALES) == choices.STRESS_SCALES


class _Constant(torch.nn.Module):
    """A victim that answers class ``k`` to every query, so its answers are known without running it."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.full((len(x),), self.k), 10).float()


def _student(seed: int = 7) -> torch.nn.Module:
    torch.manual_seed(seed)
    return new_network("cnn_small", 10)


def test_a_label_thiefs_twin_differs_from_it_only_in_the_answers():
    pool = digit_splits(SEED)["attacker"].images[:96]
    common = {"answer": "label", "epochs": 1, "lr": 4e-3, "seed": 11}
    thief, queries = extract_16px(_student(), _Constant(3), pool, **common)
    # Where the victim's answers are the truth, the twin is the thief, weight for weight.
    same, no_queries = extract_16px(_student(), _Constant(0), pool, **common, true_labels=torch.full((96,), 3))
    assert queries == 96 and no_queries == 0
    assert all(torch.equal(a, b) for a, b in zip(thief.state_dict().values(), same.state_dict().values(), strict=True))
    other, _ = extract_16px(_student(), _Constant(3), pool, **common, true_labels=torch.full((96,), 5))
    assert not torch.equal(thief.state_dict()["head.weight"], other.state_dict()["head.weight"])


def test_only_a_label_thief_on_digits_has_a_twin():
    recipes = stress_plan(SEED, TINY)
    data = StressData(SEED, digit_splits(SEED), TINY.natural_pool)
    thief = next(r for r in recipes if r.kind == "extract_label" and r.params["data"] == "digits:attacker")
    twin = label_thief_twin(thief, data)
    assert not twin.training and twin(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
    for recipe in recipes:
        if recipe.kind != "extract_label" or recipe.params["data"] == "natural":
            with pytest.raises(ValueError, match="only a label-only thief on digits"):
                label_thief_twin(recipe, data)
    with pytest.raises(ValueError, match="twin of a one-round label thief"):
        extract_16px(
            _student(),
            _Constant(0),
            torch.zeros(4, 1, 16, 16),
            answer="probabilities",
            epochs=1,
            lr=1e-3,
            seed=0,
            true_labels=torch.zeros(4, dtype=torch.int64),
        )
