"""One step computes a zoo model's field (``gifviz.pipeline.field_of``): the local executor, the Ray task and the app
give the same field, the reference labels included."""

from __future__ import annotations

import pickle

import pytest
import torch

from gifviz.config import FieldConfig
from gifviz.hub import Zoo
from gifviz.jobs import RunSummary, ray_executor, store_fields
from gifviz.jobs.ray_tasks import FieldResult, run_field_task
from gifviz.pipeline import field_of, model_field
from gifviz.refs import ReferenceSet, load_reference_folder


def _in_process_ray(tasks, address=None, on_result=None, num_cpus=None) -> list[FieldResult]:
    """``run_on_ray`` without a cluster: each task crosses a pickle boundary, as Ray's object store makes it do,
    and runs the worker's own function."""
    results = []
    for task in tasks:
        result = run_field_task(pickle.loads(pickle.dumps(task)))
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results


@pytest.fixture
def labelled(tiny_zoo) -> tuple[Zoo, ReferenceSet]:
    """The tiny zoo and its references, labelled with classes the source model does not predict (so the
    ``label`` target cannot agree with ``predicted`` by chance)."""
    manifest, folder = tiny_zoo
    zoo = Zoo.open(manifest)
    references = load_reference_folder(folder, zoo.space, 4)
    with torch.no_grad():
        predicted = zoo.load("source").module(references.images).argmax(dim=1)
    labels = (predicted + 1 + torch.arange(len(references))) % 10
    return zoo, ReferenceSet(references.images, references.names, labels)


@pytest.mark.parametrize("label_class", [None, 0], ids=["labels-only", "labels-over-label_class"])
def test_ray_task_gives_the_local_field_for_the_label_target(labelled, monkeypatch, label_class):
    """With ``label_class`` set, a task that drops the labels silently differentiates class 0 for every reference;
    without it, it fails. Either way the Ray executor must give exactly the local field."""
    zoo, references = labelled
    config = FieldConfig(target="label", steps=3, label_class=label_class)
    ids = ["source", "other"]
    local = store_fields(zoo, references, config, ids, executor="local")
    monkeypatch.setattr(ray_executor, "run_on_ray", _in_process_ray)
    summary = RunSummary()
    remote = store_fields(zoo, references, config, ids, executor="ray", summary=summary)
    assert summary.computed == ids
    for model_id in ids:
        assert torch.equal(local[model_id].targets, references.labels)
        assert torch.equal(remote[model_id].targets, references.labels)
        assert torch.equal(remote[model_id].values, local[model_id].values)
        assert torch.equal(remote[model_id].endpoint_scores, local[model_id].endpoint_scores)
        assert remote[model_id].reference_names == references.names


def test_field_of_is_what_the_executors_compute(labelled):
    zoo, references = labelled
    config = FieldConfig(target="label", steps=3, baseline="noise")  # noise: the value range must come along
    model = zoo.load("other")
    field = field_of(model, references, config)
    assert field.model_id == "other" and torch.equal(field.targets, references.labels)
    assert torch.equal(model_field(zoo, "other", references, config).values, field.values)


def test_the_apps_field_on_an_uploaded_image_is_field_of(tiny_zoo, tmp_path, monkeypatch):
    from gifviz.app.fields import field_on_upload
    from gifviz.app.settings import AppSettings

    manifest, folder = tiny_zoo
    monkeypatch.setenv("GIFVIZ_ALLOWED_ROOTS", str(tmp_path))  # the app opens manifests only inside allowed roots
    current = AppSettings(manifest=str(manifest), steps=3, baseline="noise")
    shown = field_on_upload(current, "other", "mine.png", (folder / "img_002.png").read_bytes())
    zoo = Zoo.open(manifest)
    image = load_reference_folder(folder, zoo.space).images[2:3]
    expected = field_of(zoo.load("other"), ReferenceSet(image, ("mine.png",)), current.field_config())
    assert shown.name == "mine.png" and shown.images.shape == (1, 1, 16, 16)
    assert torch.equal(shown.field.values, expected.values)
