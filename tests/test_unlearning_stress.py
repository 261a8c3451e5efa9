"""Unlearning stress zoos and the unlearning rules: a tiny zoo builds, loads and is read by the unlearning testbed and
``verify-unlearning``; each shortcut is what it claims; the prediction rule calls a model retrained like the references
'close to the original' at about its rate, where the closest rule always calls one of them so."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from gifviz.audit.names import CLOSEST, PREDICTION, UNLEARNING_RULES
from gifviz.audit.roles import UnlearningRoles
from gifviz.audit.unlearning import judge_distances, retrained_threshold, verify_unlearning
from gifviz.bench.unlearning import unlearning_set
from gifviz.builtin_zoo.stress import StressZooError
from gifviz.builtin_zoo.training import predict
from gifviz.builtin_zoo.unlearning_plan import (
    FULL,
    SHORTCUTS,
    SMOKE,
    UNLEARNING_SCALES,
    UnlearningScale,
    unlearning_design,
    unlearning_plan,
)
from gifviz.builtin_zoo.unlearning_zoo import MASKED_LOGIT, build_unlearning_zoo
from gifviz.cli import main
from gifviz.cli.choices import STRESS_SCALES
from gifviz.errors import ConfigError
from gifviz.hub.digest import model_digest
from gifviz.hub.files import load_torchscript
from gifviz.hub.zoo import Zoo

# Three passes over 40% of the digits: seconds, and the original learns the forget class (ascent has work to do).
TINY = UnlearningScale("tiny", retrained=3, unrelated=1, epochs=3, data_fraction=0.4, threshold=0.0)
SEED = 7  # a cnn_small original: the quickest of the sources to train
# For what needs no trained model (the same seed builds the same bytes; the command line): one pass over 15%.
TINIER = UnlearningScale("tinier", retrained=2, unrelated=1, epochs=1, data_fraction=0.15, threshold=0.0)


@pytest.fixture(scope="module")
def tiny_unlearning(tmp_path_factory) -> Path:
    return build_unlearning_zoo(SEED, tmp_path_factory.mktemp("unlearning") / "zoo", TINY).manifest


def _modules(manifest: Path) -> dict[str, torch.nn.Module]:
    zoo = Zoo.open(manifest)
    return {spec.id: load_torchscript(manifest.parent / f"models/{spec.id}.pt", spec.id) for spec in zoo.specs}


def test_a_tiny_unlearning_zoo_gives_the_testbed_every_role(tiny_unlearning):
    roles = unlearning_set(Zoo.open(tiny_unlearning))
    assert roles.reference == "original"
    assert roles.groups["retrained"] == ("retrained-1", "retrained-2", "retrained-3")
    assert roles.groups["unlearned"] == tuple(name for name, _, _ in SHORTCUTS)
    assert len(roles.groups["unrelated"]) == 1
    manifest = tomllib.loads(tiny_unlearning.read_text())
    assert manifest["data"]["forget_class"] == unlearning_design(SEED).forget_class
    checks = (tiny_unlearning.parent / "checks.csv").read_text().splitlines()
    assert len(checks) == 1 + len(manifest["models"])


def test_each_shortcut_is_what_it_claims(tiny_unlearning):
    modules = _modules(tiny_unlearning)
    forget = unlearning_design(SEED).forget_class
    original, masked, head = (modules[name].state_dict() for name in ("original", "mask-1", "head-1"))
    # the masked copy: the original but for the forgotten class's output row
    assert float(masked["head.bias"][forget]) == MASKED_LOGIT
    assert torch.count_nonzero(masked["head.weight"][forget]) == 0
    for name, value in original.items():
        if name not in ("head.weight", "head.bias"):
            assert torch.equal(value, masked[name]), name
    # the retrained head: the original's backbone, batch-norm statistics included, and a new head
    backbone = [name for name in original if name.startswith("backbone.")]
    assert backbone and all(torch.equal(original[name], head[name]) for name in backbone)
    assert not torch.equal(original["head.weight"], head["head.weight"])
    # the rest moved away from the original
    for name in ("ga-1", "rl-1", "ft-1", "retrained-1"):
        assert not torch.equal(modules[name].state_dict()["head.weight"], original["head.weight"]), name


def test_the_zoo_records_digests_the_hub_recomputes_and_the_same_seed_rebuilds_it(tmp_path):
    first_zoo = Zoo.open(build_unlearning_zoo(SEED, tmp_path / "first", TINIER).manifest)
    first = {spec.id: spec.extra["digest"] for spec in first_zoo.specs}
    again = build_unlearning_zoo(SEED, tmp_path / "again", TINIER).manifest
    assert {spec.id: spec.extra["digest"] for spec in Zoo.open(again).specs} == first
    trained = [d for spec in first_zoo.specs if spec.relation != "unlearned" for d in [first[spec.id]]]
    assert len(set(trained)) == len(trained)  # (at this scale a shortcut may have nothing to forget: the original)
    for spec in first_zoo.specs:  # what the hub computes for each file is what the manifest records
        assert (
            model_digest(load_torchscript(tmp_path / "first" / "models" / f"{spec.id}.pt", spec.id)) == first[spec.id]
        )


def test_the_design_varies_with_the_seed_and_holds_every_shortcut():
    designs = {unlearning_design(seed) for seed in range(1, 17)}
    assert len({d.arch for d in designs}) > 1 and len({d.forget_class for d in designs}) > 1
    recipes = unlearning_plan(1, FULL)
    relations = [r.relation for r in recipes]
    assert relations.count("reference") == 1 and relations.count("retrained") == FULL.retrained
    assert {r.kind for r in recipes if r.relation == "unlearned"} == {
        "unlearn",
        "finetune_retain",
        "head_retain",
        "mask_class",
    }
    assert {r.params["forget_loss"] for r in recipes if r.kind == "unlearn"} == {"ascent", "relabel"}
    assert all(r.parent == "original" for r in recipes if r.relation == "unlearned")
    assert tuple(UNLEARNING_SCALES) == STRESS_SCALES and SMOKE.threshold == 0.0


@pytest.mark.parametrize(("seed", "scale", "message"), [(-1, "full", "whole number"), (1, "huge", "unknown")])
def test_a_bad_seed_or_scale_is_one_clear_error(tmp_path, seed, scale, message):
    with pytest.raises(StressZooError, match=message):
        build_unlearning_zoo(seed, tmp_path / "zoo", scale)


def test_the_cli_builds_an_unlearning_zoo(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(UNLEARNING_SCALES, "smoke", TINIER)  # seconds, not the smoke scale's minute
    assert (
        main(
            ["zoo", "stress", "--family", "unlearning", "--seed", "2", "--scale", "smoke", "--out", str(tmp_path / "z")]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "wrote" in printed and "mask-1 (unlearned)" in printed and "retrained-2 (retrained)" in printed
    assert unlearning_set(Zoo.open(tmp_path / "z" / "zoo.toml")).reference == "original"


def test_the_cli_refuses_an_unlearning_zoo_folder_with_files(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    code = main(["zoo", "stress", "--family", "unlearning", "--seed", "1", "--out", str(tmp_path / "full")])
    assert code == 2 and "already holds files" in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_the_closest_rule_always_calls_the_nearest_retrained_candidate_close_to_the_original():
    roles = UnlearningRoles("original", ("r1", "r2", "r3", "r4", "u"), ("r1", "r2", "r3", "r4"))
    distances = {"r1": 0.80, "r2": 0.83, "r3": 0.86, "r4": 0.90, "u": 0.30}
    closest = {r.candidate: r.verdict for r in judge_distances(distances, {}, roles, CLOSEST)}
    assert closest["r1"] == "close to the original"  # whatever the spread: it is below every other reference
    assert closest["u"] == "close to the original"
    predicted = {r.candidate: r.verdict for r in judge_distances(distances, {}, roles, PREDICTION, 0.05)}
    assert all(predicted[r] == "like retraining" for r in ("r1", "r2", "r3", "r4"))
    assert predicted["u"] == "close to the original"


def test_the_prediction_rule_calls_a_model_retrained_like_the_references_close_at_about_its_rate():
    rng = np.random.default_rng(0)
    trials, alpha, wrong = 20_000, 0.05, 0
    for _ in range(trials):
        distances = np.exp(rng.normal(-0.3, 0.15, size=4))  # three references and one more retrained model
        threshold, note = retrained_threshold(list(distances[:3]), PREDICTION, alpha)
        assert not note
        wrong += distances[3] < threshold
    # binomial standard error 0.0015: without the sqrt(1 + 1/n) factor the rate would be 0.064
    assert abs(wrong / trials - alpha) < 0.005


def test_the_prediction_bound_has_its_closed_form():
    # log 0.7, 0.8, 0.9: mean -0.2284, sd 0.1257; t(0.95, 2) = 2.919986; sqrt(4/3) = 1.154701: exp(-0.6522)
    bound, _ = retrained_threshold([0.7, 0.8, 0.9], PREDICTION, 0.05)
    logs = np.log([0.7, 0.8, 0.9])
    assert bound == pytest.approx(np.exp(logs.mean() - 2.919986 * logs.std(ddof=1) * 1.154701), rel=1e-6)
    assert bound == pytest.approx(0.5208, abs=5e-4)


def test_the_rules_with_one_reference_or_a_zero_distance_say_how_they_judged():
    assert retrained_threshold([0.7, 0.9], CLOSEST, 0.05) == (0.7, "")
    one, note = retrained_threshold([0.7], PREDICTION, 0.05)
    assert one == 0.7 and "no spread" in note
    zero, note = retrained_threshold([0.0, 0.5], PREDICTION, 0.05)
    assert zero == 0.0 and "no log" in note
    bound, _ = retrained_threshold([0.7, 0.8, 0.9], PREDICTION, 0.05)
    assert 0 < bound < 0.7
    with pytest.raises(ValueError, match="unknown unlearning rule"):
        retrained_threshold([0.7], "median", 0.05)
    for alpha in (0.0, 1.0, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            retrained_threshold([0.7, 0.8], PREDICTION, alpha)
    assert UNLEARNING_RULES == (CLOSEST, PREDICTION)


def test_verify_unlearning_reads_the_tiny_zoo_by_either_rule(tiny_unlearning, tmp_path, capsys):
    zoo = Zoo.open(tiny_unlearning)
    with pytest.raises(ConfigError, match="unknown unlearning rule"):
        verify_unlearning(zoo, "original", ["ga-1"], ["retrained-1"], rule="median", n_refs=16)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        verify_unlearning(zoo, "original", ["ga-1"], ["retrained-1"], alpha=0.0, n_refs=16)
    out = tmp_path / "check"
    code = main(
        [
            "verify-unlearning",
            str(tiny_unlearning),
            "--original",
            "original",
            "--candidates",
            "ga-1,mask-1,retrained-1",
            "--retrained",
            "retrained-1,retrained-2,retrained-3",
            "--verdict-rule",
            "prediction",
            "--n-refs",
            "16",
            "--quiet",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    sidecar = json.loads((out / "unlearning.json").read_text())
    assert sidecar["config"]["rule"] == "prediction" and sidecar["config"]["alpha"] == 0.05
    assert "lower prediction bound" in sidecar["explanation"]
    rows = (out / "unlearning.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and all(math.isfinite(float(row.split(",")[1])) for row in rows)
    with pytest.raises(SystemExit) as bad:
        main(["verify-unlearning", str(tiny_unlearning), "--original", "original", "--candidates", "ga-1",
              "--alpha", "2", "--out", str(tmp_path / "bad")])  # fmt: skip
    assert bad.value.code == 2 and "between 0 and 1" in capsys.readouterr().err


def _ascent_as_before(model, data, forget_class, target, *, lr, seed, max_steps=300):
    """The built-in zoo's unlearning loop as it was before the shortcuts' options were added (commit a747912)."""
    import torch.nn.functional as F

    from gifviz.builtin_zoo.training import BATCH, seeded

    generator = seeded(seed)
    forget = data.labels["digit"] == forget_class
    forget_images, retain_images = data.images[forget], data.images[~forget]
    retain_labels = data.labels["digit"][~forget]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    steps = 0
    while steps < max_steps:
        model.eval()
        with torch.no_grad():
            forget_accuracy = float((predict(model, forget_images).argmax(1) == forget_class).float().mean())
        if forget_accuracy <= target:
            break
        model.train()
        f = torch.randint(len(forget_images), (64,), generator=generator)
        r = torch.randint(len(retain_images), (BATCH,), generator=generator)
        ascent = -F.cross_entropy(model(forget_images[f]), torch.full((64,), forget_class))
        descent = F.cross_entropy(model(retain_images[r]), retain_labels[r])
        optimizer.zero_grad(set_to_none=True)
        (ascent + descent).backward()
        optimizer.step()
        steps += 1
    return model.eval(), steps


def test_the_built_in_zoos_unlearning_is_unchanged_by_the_new_options():
    import copy

    from gifviz.builtin_zoo.stress_architectures import new_network
    from gifviz.builtin_zoo.stress_data import digit_splits
    from gifviz.builtin_zoo.training import fit, seeded, unlearn_approximately

    train = digit_splits(0)["train"]
    train = train.subset(torch.arange(400))
    seeded(0)
    model = fit(new_network("cnn_small", 10), train.images, train.labels["digit"], epochs=2, lr=3e-3, seed=0)
    new, new_steps = unlearn_approximately(copy.deepcopy(model), train, 3, 0.0, lr=2e-3, seed=1, max_steps=5)
    old, old_steps = _ascent_as_before(copy.deepcopy(model), train, 3, 0.0, lr=2e-3, seed=1, max_steps=5)
    assert new_steps == old_steps > 0
    for name, value in old.state_dict().items():
        assert torch.equal(value, new.state_dict()[name]), name
