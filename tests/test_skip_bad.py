"""Models with finite outputs but NaN or infinite input gradients: caught up front, skipped on request, never stored."""

from __future__ import annotations

import pytest
import torch
from conftest import make_cnn, write_zoo
from torch import nn

from gifviz import FieldConfig
from gifviz.errors import GifvizError, NonFiniteFieldError
from gifviz.hub import Zoo
from gifviz.jobs import RunSummary, store_fields, zoo_distances, zoo_sketch_distances
from gifviz.pipeline import check_model
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore


class SqrtNet(nn.Module):
    """``fc(sqrt(x))``: finite outputs on [0, 1], but d sqrt/dx is inf at 0, which the zeros-baseline path meets."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.sqrt().flatten(1))


@pytest.fixture
def sqrt_zoo(tmp_path) -> Zoo:
    return Zoo.open(write_zoo(tmp_path / "zoo", {"a": make_cnn(0), "sqrt": SqrtNet(), "b": make_cnn(1)}))


def references(count: int = 4) -> ReferenceSet:
    """Images in [0, 1] with black pixels in every image (where sqrt's gradient is infinite)."""
    images = torch.rand(count, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    images[:, :, :4, :4] = 0.0
    return ReferenceSet(images, tuple(f"img{i}" for i in range(count)))


CONFIG = FieldConfig(steps=3)


def test_check_model_catches_non_finite_gradients_up_front(sqrt_zoo):
    refs = references()
    outputs = sqrt_zoo.load("sqrt").module(refs.images)
    assert torch.isfinite(outputs).all()  # the outputs alone give nothing away
    with pytest.raises(NonFiniteFieldError, match=r"model 'sqrt' has NaN or infinite input gradients.*img0"):
        check_model(sqrt_zoo, "sqrt", refs, CONFIG)
    check_model(sqrt_zoo, "a", refs, CONFIG)  # a normal model passes


def test_check_models_reports_bad_models_and_skips_gradients_of_stored_fields(sqrt_zoo, tmp_path, monkeypatch):
    import gifviz.pipeline as pipeline

    refs, store = references(), FieldStore(tmp_path / "store")
    with pytest.raises(NonFiniteFieldError):
        pipeline.check_models(sqrt_zoo, sqrt_zoo.ids, refs, CONFIG, store)
    failed = pipeline.check_models(sqrt_zoo, sqrt_zoo.ids, refs, CONFIG, store, skip_bad=True)
    assert list(failed) == ["sqrt"] and "'sqrt'" in failed["sqrt"]
    store_fields(sqrt_zoo, refs, CONFIG, ["a"], store)
    checked = []
    real = pipeline.compute_field
    monkeypatch.setattr(pipeline, "compute_field", lambda *a, **k: checked.append(k["model_id"]) or real(*a, **k))
    assert pipeline.check_models(sqrt_zoo, ["a", "b"], refs, CONFIG, store) == {}
    assert checked == ["b"]  # 'a' is stored, hence finite: no backward pass for it


def test_skip_bad_leaves_the_model_out_and_stores_only_finite_fields(sqrt_zoo, tmp_path):
    store = FieldStore(tmp_path / "store")
    summary = RunSummary()
    fields = store_fields(sqrt_zoo, references(), CONFIG, store=store, summary=summary, skip_bad=True)
    assert list(fields) == ["a", "b"]
    assert list(summary.skipped) == ["sqrt"] and "NaN or infinite input gradients" in summary.skipped["sqrt"]
    assert "\n" not in summary.skipped["sqrt"]
    assert summary.computed == ["a", "b"] and summary.hits == [] and summary.stored_elsewhere == []
    assert sorted(r.model_id for r in store.records()) == ["a", "b"]  # no field of 'sqrt' was stored
    assert "1 model(s) skipped" in summary.describe(str(store.home))


@pytest.mark.parametrize("sketch", [False, True])
def test_matrices_with_skip_bad_exclude_the_model_from_their_labels(sqrt_zoo, sketch):
    summary = RunSummary()
    if sketch:
        matrix = zoo_sketch_distances(
            sqrt_zoo, references(), CONFIG, sqrt_zoo.ids, dim=64, summary=summary, skip_bad=True
        )
    else:
        matrix = zoo_distances(sqrt_zoo, references(), CONFIG, summary=summary, skip_bad=True)
    assert matrix.labels == ("a", "b") and matrix.values.shape == (2, 2)
    assert list(matrix.provenance["skipped"]) == ["sqrt"] and "sqrt" not in matrix.provenance["model_digests"]


def test_without_skip_bad_the_failure_is_one_gifviz_error(sqrt_zoo, tmp_path):
    store = FieldStore(tmp_path / "store")
    with pytest.raises(NonFiniteFieldError) as caught:
        store_fields(sqrt_zoo, references(), CONFIG, store=store)
    assert isinstance(caught.value, GifvizError) and "'sqrt'" in str(caught.value)
    assert "sqrt" not in [r.model_id for r in store.records()]


def test_store_refuses_a_non_finite_field(tmp_path):
    from gifviz import compute_field

    field = compute_field(make_cnn(0), torch.rand(2, 1, 16, 16), CONFIG, model_id="m")
    field.values[0, 0, 0] = float("nan")
    store = FieldStore(tmp_path / "store")
    with pytest.raises(NonFiniteFieldError, match="'m'"):
        store.put("e" * 64, field, model_digest="d", refs_digest="r", device="cpu", seconds=0.1)
    assert store.records() == [] and not store.blob_path("e" * 64).exists()


def test_a_worker_failure_comes_back_as_the_same_error(sqrt_zoo):
    from gifviz.jobs.ray_tasks import FieldTask, run_field_task

    refs = references()
    task = FieldTask(str(sqrt_zoo.manifest.path), "sqrt", refs.images, refs.names, CONFIG.to_json(), "k" * 64)
    result = run_field_task(task)
    assert result.failure is not None and result.failure[0] == "NonFiniteFieldError"
    with pytest.raises(NonFiniteFieldError, match="'sqrt'"):
        result.raise_failure()


def test_cli_distances_skip_bad_writes_the_matrix_of_the_others(sqrt_zoo, tmp_path, capsys):
    from conftest import write_pngs
    from PIL import Image

    from gifviz.cli import main

    refs = write_pngs(tmp_path / "refs", 4)
    Image.new("L", (16, 16), 0).save(refs / "img_000.png")  # an all-black reference: sqrt's gradient is inf there
    out = tmp_path / "x.csv"
    common = [str(sqrt_zoo.manifest.path), "--refs", str(refs), "--out", str(out), "--steps", "4", "--quiet"]
    assert main(["distances", *common]) == 2  # without --skip-bad: one error line, no CSV
    assert capsys.readouterr().err.count("gifviz: error: model 'sqrt'") == 1 and not out.exists()
    assert main(["distances", *common, "--skip-bad"]) == 0
    assert out.read_text().splitlines()[0] == "model,a,b"
    assert "'sqrt'" in capsys.readouterr().err


def test_an_audit_reads_modelgif_for_every_suspect_but_the_one_whose_field_is_not_finite(tmp_path):
    """One suspect with infinite input gradients makes ModelGiF n/a for that suspect alone, with why; the fields of
    the others are still computed and read (before, the whole method was n/a)."""
    from conftest import perturbed, write_pngs

    from gifviz.audit.run_audit import audit
    from gifviz.refs import load_reference_folder

    source = make_cnn(0)
    models = {"source": source, "sqrt": SqrtNet(), "copy": perturbed(make_cnn(0), 0.05, seed=1)}
    models.update({f"ind{i}": make_cnn(10 + i) for i in range(3)})
    manifest = write_zoo(tmp_path, models, fields={f"ind{i}": {"relation": "independent"} for i in range(3)})
    zoo = Zoo.open(manifest)
    references = load_reference_folder(write_pngs(tmp_path / "refs", 4), zoo.space)
    config = FieldConfig(steps=4, baseline="zeros")
    result = audit(zoo, "source", ["sqrt", "copy"], None, ["modelgif"], references, config)
    unread = result.row("sqrt", "modelgif")
    assert unread.verdict == "n/a" and "ModelGiF cannot read this model" in unread.note
    assert result.row("copy", "modelgif").verdict != "n/a"


def test_an_unlearning_verdict_says_when_a_retrained_reference_has_no_distance(tmp_path):
    """A threshold taken over fewer retrained models can only rise: the verdict still stands on the others, and its
    note says against how many and why the rest are missing."""
    from conftest import perturbed, write_pngs

    from gifviz.audit import verify_unlearning
    from gifviz.refs import load_reference_folder

    models = {"original": make_cnn(0), "sqrt": SqrtNet(), "retrained": make_cnn(5)}
    models["candidate"] = perturbed(make_cnn(0), 0.05, seed=1)
    zoo = Zoo.open(write_zoo(tmp_path, models))
    references = load_reference_folder(write_pngs(tmp_path / "refs", 4), zoo.space)
    config = FieldConfig(steps=4, baseline="zeros")
    result = verify_unlearning(
        zoo, "original", ["candidate"], ["sqrt", "retrained"], references=references, field_config=config
    )
    row = result.rows[0]
    assert row.verdict == "close to the original"
    assert "judged against 1 of 2 retrained (sqrt: ModelGiF cannot read this model" in row.note


def test_a_device_that_is_not_there_fails_the_run_not_each_model(tmp_path):
    """skip_bad leaves out models; a missing GPU concerns the whole run and stays one error."""
    if torch.cuda.is_available():
        pytest.skip("this machine has the GPU the test asks for")
    zoo = Zoo.open(write_zoo(tmp_path, {"a": make_cnn(0), "b": make_cnn(1)}))
    references = ReferenceSet(torch.rand(2, 1, 16, 16), ("r0", "r1"))
    with pytest.raises(GifvizError, match="device 'cuda' was asked for"):
        store_fields(zoo, references, FieldConfig(steps=2, device="cuda"), ["a", "b"], None, skip_bad=True)
