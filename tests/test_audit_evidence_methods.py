"""The audit's own evidence: dark knowledge (the other classes' ranking) and off-task disagreement (natural crops)."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from gifviz.audit.evidence import _reason
from gifviz.builtin_zoo.data import zoo_data
from gifviz.hub import Zoo
from gifviz.hub.builtin import builtin_manifest_path
from gifviz.methods import AUDIT_EVIDENCE, METHODS, MethodInputs, MethodRun, Signature, method_matrix
from gifviz.methods.dark_knowledge import (
    MIX_LOWEST,
    MIX_PROBES,
    UNDEFINED,
    dark_knowledge_distance,
    per_sample_correlation,
)
from gifviz.methods.natural_crops import natural_crops
from gifviz.methods.off_task import KAPPA_UNDEFINED, OFF_TASK_PROBES, kappa_distance, off_task_samples
from gifviz.methods.peers.evaluation import as_logits
from gifviz.refs import ReferenceSet, mixup


def _log_softmax(logits: list[list[float]]) -> Signature:
    return Signature(torch.tensor(logits, dtype=torch.float64).log_softmax(dim=1), (len(logits[0]), None))


def test_dark_knowledge_reads_only_the_classes_neither_model_answers():
    source = _log_softmax([[9.0, 3.0, 2.0, 1.0, 0.0], [0.0, 8.0, 1.0, 3.0, 2.0]])
    # Another answer scale and offset, the same ranking of the other classes: a distilled copy.
    copy = _log_softmax([[4.0, 1.5, 1.0, 0.5, 0.0], [10.0, 14.0, 10.5, 11.5, 11.0]])
    # The same answers with the other classes ranked the other way round.
    reversed_ = _log_softmax([[9.0, 0.0, 1.0, 2.0, 3.0], [3.0, 8.0, 2.0, 0.0, 1.0]])
    assert dark_knowledge_distance(source, copy, None) == pytest.approx(0.0, abs=1e-12)
    assert dark_knowledge_distance(source, reversed_, None) == pytest.approx(2.0, abs=1e-12)
    assert dark_knowledge_distance(copy, source, None) == dark_knowledge_distance(source, copy, None)
    # Where the answers differ, both answered classes are left out: three classes remain, and they agree.
    other_answer = _log_softmax([[3.0, 9.0, 2.0, 1.0, 0.0]])
    assert per_sample_correlation(_log_softmax([[9.0, 3.0, 2.0, 1.0, 0.0]]), other_answer) == pytest.approx([1.0])


def test_dark_knowledge_of_label_only_outputs_is_not_a_number():
    source = _log_softmax([[9.0, 3.0, 2.0, 1.0], [0.0, 8.0, 1.0, 3.0]])
    labels_only = Signature(torch.log(torch.tensor([[1.0, 1e-30, 1e-30, 1e-30], [1e-30, 1.0, 1e-30, 1e-30]])))
    assert np.isnan(dark_knowledge_distance(source, labels_only, None))


def test_natural_crops_fit_the_space_and_repeat_with_the_seed():
    grey = natural_crops(16, 1, (12, 20), (-1.0, 1.0), seed=3)
    assert grey.shape == (16, 1, 12, 20) and grey.dtype == torch.float32
    assert float(grey.min()) == -1.0 and float(grey.max()) == 1.0
    assert torch.equal(grey, natural_crops(16, 1, (12, 20), (-1.0, 1.0), seed=3))
    assert not torch.equal(grey, natural_crops(16, 1, (12, 20), (-1.0, 1.0), seed=4))
    colour = natural_crops(64, 3, (32, 32))
    # Colour photographs keep their colour: some crops' channels differ.
    assert bool((colour[:, 0] - colour[:, 1]).abs().amax(dim=(1, 2)).gt(0.05).any())
    assert len({tuple(crop.flatten()[:8].tolist()) for crop in grey}) == 16  # every crop its own


def test_natural_crops_are_the_same_in_another_process():
    # One of the photographs is drawn at random by scikit-image unless seeded: another process must see the same crops.
    # Compared byte for byte: a float32 sum would depend on each process's thread count, not on the crops.
    code = (
        "import hashlib; from gifviz.methods.natural_crops import natural_crops; "
        "print(hashlib.sha256(natural_crops(256, 1, (16, 16)).numpy().tobytes()).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == hashlib.sha256(natural_crops(256, 1, (16, 16)).numpy().tobytes()).hexdigest()


def test_off_task_probes_take_the_references_shape_and_the_spaces_range():
    references = ReferenceSet(torch.rand(3, 3, 8, 10), ("a", "b", "c"))
    samples = off_task_samples(MethodInputs(references, value_range=(0.0, 255.0), seed=1), None)
    assert samples.shape == (OFF_TASK_PROBES, 3, 8, 10) and float(samples.max()) == 255.0


def _answers(classes: list[int], k: int = 10) -> Signature:
    """One-hot outputs ``(N, k)`` answering ``classes``."""
    return Signature(torch.nn.functional.one_hot(torch.tensor(classes), k).double(), (k, None))


def test_off_task_kappa_discounts_agreement_that_answer_frequencies_explain():
    # The source answers class 8 on 80 of 100 crops. An independent that answers 8 everywhere agrees on those 80 by
    # chance alone; a thief copies the source crop by crop on its other 20 answers and on half of its 8s.
    source = [8] * 80 + [1, 2, 3, 4] * 5
    independent = [8] * 100
    thief = [8] * 40 + [0] * 40 + [1, 2, 3, 4] * 5
    disagreement = {
        name: float(np.mean(np.array(source) != np.array(m))) for name, m in [("indep", independent), ("thief", thief)]
    }
    assert disagreement == {"indep": pytest.approx(0.2), "thief": pytest.approx(0.4)}  # raw: the independent is closer
    kappa = {
        name: kappa_distance(_answers(source), _answers(m), None)
        for name, m in [("indep", independent), ("thief", thief)]
    }
    assert kappa["indep"] == pytest.approx(1.0) and kappa["thief"] == pytest.approx(1 - 0.27 / 0.67)  # beyond chance
    assert kappa_distance(_answers(source), _answers(source), None) == pytest.approx(0.0)
    rows = np.arange(80, 100)  # resampled rows are read like the rest: there the thief is the source
    assert kappa_distance(_answers(source), _answers(thief), rows) == pytest.approx(0.0)


def test_off_task_kappa_of_two_models_with_one_answer_is_not_a_number():
    assert np.isnan(kappa_distance(_answers([3] * 20), _answers([3] * 20), None))
    assert kappa_distance(_answers([3] * 20), _answers([5] * 20), None) == pytest.approx(1.0)  # two classes: defined
    assert "same answer on every crop" in KAPPA_UNDEFINED and METHODS["off-task-kappa"].undefined == KAPPA_UNDEFINED
    assert not METHODS["off-task-kappa"].share_of_samples  # 1 - kappa reaches 2: the audit's rate floor is not for it
    assert METHODS["off-task-kappa"].prepare is METHODS["off-task"].prepare  # the same crops as off-task disagreement


def test_off_task_kappa_is_scikit_learns_on_any_rows():
    from sklearn.metrics import cohen_kappa_score

    generator = np.random.default_rng(0)
    source = generator.integers(0, 10, 300)
    thief = np.where(generator.random(300) < 0.6, source, generator.integers(0, 10, 300))
    a, b = _answers(source.tolist()), _answers(thief.tolist())
    rows = generator.integers(0, 300, 300)  # a bootstrap resample: rows repeat
    for chosen in (None, rows):
        x, y = (source, thief) if chosen is None else (source[chosen], thief[chosen])
        assert kappa_distance(a, b, chosen) == pytest.approx(1.0 - cohen_kappa_score(x, y), abs=1e-12)
    # answers that never agree where chance would have them agree: kappa -1, the distance 2
    assert kappa_distance(_answers([0, 1] * 10), _answers([1, 0] * 10), None) == pytest.approx(2.0)


@pytest.mark.parametrize("name", list(AUDIT_EVIDENCE))
def test_audit_evidence_puts_a_fine_tuned_copy_closer_than_an_independent_model(name):
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    ids = ["src-cnn", "ft-cnn-1", "indep-cnn_deep-1", "transfer-cnn-1"]
    split = zoo_data()["reference"]
    references = ReferenceSet(split.images[:24], tuple(f"r{i}" for i in range(24)))
    matrix = method_matrix(name, zoo, ids, MethodInputs(references))
    assert matrix.distance("src-cnn", "ft-cnn-1") < matrix.distance("src-cnn", "indep-cnn_deep-1")
    # a parity model has no digit classes to compare; first-layer reads weights, which a transfer model kept
    assert np.isnan(matrix.distance("src-cnn", "transfer-cnn-1")) == AUDIT_EVIDENCE[name].shared_outputs


class _AnswersProbabilities(torch.nn.Module):
    """The same network behind a service that answers softmax probabilities instead of logits."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x).softmax(dim=1)


@pytest.mark.parametrize("name", ["dark-knowledge", "dark-knowledge-mix", "softmax"])
def test_a_model_that_answers_probabilities_is_read_as_its_logits(name):
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    source, suspect = zoo.load("src-cnn"), zoo.load("xprob-cnn-1")
    behind_api = dataclasses.replace(suspect, module=_AnswersProbabilities(suspect.module))
    references = zoo_data()["reference"].images[:32]
    method = METHODS[name]
    context = method.prepare(MethodInputs(ReferenceSet(references, tuple(map(str, range(32))))), None)
    of_logits = method.distance(method.signature(source, context), method.signature(suspect, context))
    of_probabilities = method.distance(method.signature(source, context), method.signature(behind_api, context))
    assert of_probabilities == pytest.approx(of_logits, abs=1e-5)


def test_mixup_blends_pairs_mostly_of_one_image_and_is_seeded():
    # image i is the constant i, so a blend's value says which pair and weight made it
    images = torch.arange(8, dtype=torch.float32)[:, None, None, None].expand(8, 1, 4, 4).clone()
    blends = mixup(images, 300, seed=3, lowest=0.5)
    assert blends.shape == (300, 1, 4, 4) and torch.equal(blends, mixup(images, 300, seed=3, lowest=0.5))
    assert not torch.equal(blends, mixup(images, 300, seed=4, lowest=0.5))
    assert bool((blends == blends[:, :, :1, :1]).all())  # one weight per blend, the same over its pixels
    assert float(blends.min()) >= 0.0 and float(blends.max()) <= 7.0  # stays in the images' range
    assert len(torch.unique(blends)) > 50  # blends of many pairs at many weights, not copies
    assert torch.equal(torch.unique(mixup(images, 300, seed=3, lowest=1.0)), torch.arange(8.0))  # weight 1: copies


def test_dark_knowledge_mix_reads_dark_knowledge_on_blends_of_the_references():
    method, plain = METHODS["dark-knowledge-mix"], METHODS["dark-knowledge"]
    assert method.compare is plain.compare and method.signature is plain.signature and method.undefined == UNDEFINED
    references = zoo_data()["reference"].images[:16]
    inputs = MethodInputs(ReferenceSet(references, tuple(map(str, range(16)))), seed=2)
    samples = method.prepare(inputs, None)
    assert samples.shape == (MIX_PROBES, *references.shape[1:]) and torch.equal(samples, method.prepare(inputs, None))
    # every blend lies between the references it came from: at least MIX_LOWEST of one of them
    assert float(samples.min()) >= float(references.min()) and float(samples.max()) <= float(references.max())
    assert 0.0 < MIX_LOWEST < 1.0 and not any(torch.equal(samples[0], r) for r in references)
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    source = zoo.load("src-cnn")
    signature = method.signature(source, samples)
    assert method.distance(signature, method.signature(source, samples)) == pytest.approx(0.0, abs=1e-9)


def test_label_only_outputs_are_read_as_probabilities_and_have_no_ranking():
    one_hot = torch.nn.functional.one_hot(torch.tensor([2, 0, 1]), 4).float()
    logits = as_logits(one_hot)
    assert torch.equal(logits.argmax(dim=1), torch.tensor([2, 0, 1])) and bool(torch.isfinite(logits).all())
    source = _log_softmax([[9.0, 3.0, 2.0, 1.0], [0.0, 8.0, 1.0, 3.0], [1.0, 0.0, 5.0, 2.0]])
    assert np.isnan(dark_knowledge_distance(source, Signature(logits.double().log_softmax(dim=1)), None))
    # logits that happen to be non-negative are left alone unless every row sums to one
    assert torch.equal(as_logits(torch.tensor([[0.2, 0.3], [0.9, 0.4]])), torch.tensor([[0.2, 0.3], [0.9, 0.4]]))


def test_the_audit_says_why_dark_knowledge_cannot_compare_a_label_only_model(tmp_path):
    labels_only = Signature(torch.zeros(3, 4).double())
    assert np.isnan(dark_knowledge_distance(_log_softmax([[3.0, 2.0, 1.0, 0.0]] * 3), labels_only, None))
    zoo = Zoo.open(builtin_manifest_path("builtin"))
    run = MethodRun("dark-knowledge", "Dark knowledge", "black-box", 3, 3, 0.0, lambda a, b, rows: float("nan"))
    reason = _reason(run, METHODS["dark-knowledge"], zoo, "src-cnn", "ft-cnn-1")  # the same ten digit classes
    assert reason == UNDEFINED
    other_task = _reason(run, METHODS["dark-knowledge"], zoo, "src-cnn", "transfer-cnn-1")
    assert "has other output classes than 'src-cnn'" in other_task
