"""Distances: the properties the method guarantees, and the matrix path against a pairwise loop."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from conftest import RecordingProgress, Scaled, make_cnn

from gifviz import DistanceMatrix, FieldConfig, compute_field, distance_matrix, field_distance
from gifviz.errors import ConfigError


@pytest.fixture(scope="module")
def fields():
    inputs = torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    config = FieldConfig(steps=6)
    source = make_cnn(0)
    models = {"source": source, "scaled": Scaled(source, 3.0), "other": make_cnn(1), "third": make_cnn(2)}
    return {name: compute_field(m, inputs, config, model_id=name) for name, m in models.items()}


def test_self_distance_is_zero(fields):
    assert field_distance(fields["source"], fields["source"]).value == pytest.approx(0.0, abs=1e-7)


def test_scaled_logits_are_at_distance_zero(fields):
    result = field_distance(fields["source"], fields["scaled"])
    assert result.value == pytest.approx(0.0, abs=1e-6)
    assert field_distance(fields["source"], fields["other"]).value > 0.05


def test_symmetry_and_range(fields):
    ab = field_distance(fields["source"], fields["other"])
    ba = field_distance(fields["other"], fields["source"])
    assert ab.value == pytest.approx(ba.value, abs=1e-12)
    assert 0.0 <= ab.value <= 2.0


def test_breakdowns_average_to_the_distance(fields):
    result = field_distance(fields["source"], fields["other"])
    assert result.per_point.shape == (5, 6)
    assert result.per_step.shape == (6,) and result.per_input.shape == (5,)
    assert result.per_step.mean() == pytest.approx(result.value)
    assert result.per_input.mean() == pytest.approx(result.value)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "cosine_max_step"])
@pytest.mark.parametrize("chunk_inputs", [1, 2, 8])
def test_matrix_equals_pairwise_loop(fields, metric, chunk_inputs):
    names = list(fields)
    matrix = distance_matrix([fields[n] for n in names], names, metric, chunk_inputs=chunk_inputs)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            expected = field_distance(fields[a], fields[b], metric).value if i != j else 0.0
            assert matrix.values[i, j] == pytest.approx(expected, abs=2e-6, rel=1e-5)
    assert np.array_equal(matrix.values, matrix.values.T)
    assert np.all(np.diag(matrix.values) == 0.0)


def test_euclidean_is_scale_sensitive_cosine_is_not(fields):
    assert field_distance(fields["source"], fields["scaled"], "euclidean").value > 0.0
    assert field_distance(fields["source"], fields["scaled"], "cosine").value == pytest.approx(0.0, abs=1e-6)


def test_incomparable_fields_are_refused(fields):
    other_config = compute_field(make_cnn(0), torch.rand(5, 1, 16, 16), FieldConfig(steps=3))
    with pytest.raises(ConfigError, match=r"shapes|FieldConfig"):
        field_distance(fields["source"], other_config)
    with pytest.raises(ConfigError, match="metric"):
        field_distance(fields["source"], fields["other"], "manhattan")


def test_csv_round_trip_and_provenance(fields, tmp_path):
    names = list(fields)
    matrix = distance_matrix([fields[n] for n in names], names, provenance={"model_digests": {"source": "abc"}})
    csv_path, sidecar = matrix.to_csv(tmp_path / "d.csv")
    header = csv_path.read_text().splitlines()[0]
    assert header == "model,source,scaled,other,third"
    assert sidecar.name == "d.csv.json"
    again = DistanceMatrix.from_csv(csv_path)
    assert again.labels == matrix.labels
    np.testing.assert_array_equal(again.values, matrix.values)
    info = again.provenance
    assert info["field_config"]["steps"] == 6 and info["model_digests"] == {"source": "abc"}
    assert {"gifviz_version", "created", "reference_names"} <= set(info)


def test_vanishing_points_agree_with_each_other_only():
    field = torch.randn(3, 4, 10)
    dead = field.clone()
    dead[0] = 0.0  # the first input's whole path vanishes
    assert field_distance(dead, dead).value == pytest.approx(0.0, abs=1e-7)
    per_point = field_distance(dead, field).per_point
    np.testing.assert_allclose(per_point[0], 1.0)  # vanishing against non-vanishing: unrelated
    matrix = distance_matrix([dead, field, dead * 2], ["dead", "field", "dead2"], chunk_inputs=2)
    assert matrix.distance("dead", "dead2") == pytest.approx(0.0, abs=1e-6)
    assert matrix.distance("dead", "field") == pytest.approx(field_distance(dead, field).value, abs=1e-6)
    stepwise = distance_matrix([dead, field], ["dead", "field"], "cosine_max_step")
    assert stepwise.distance("dead", "field") == pytest.approx(field_distance(dead, field, "cosine_max_step").value)


def test_streamed_matrix_equals_the_in_memory_one_under_any_budget():
    from gifviz.distance import streamed_distance_matrix

    generator = torch.Generator().manual_seed(4)
    fields = {f"m{i}": torch.randn(3, 4, 20, generator=generator) for i in range(7)}
    fields["m3"][1, 2] = 0.0  # a vanishing point
    fields["m5"][1, 2] = 0.0
    labels = list(fields)
    exact = distance_matrix([fields[k] for k in labels], labels).values
    loads = []

    def load(label):
        loads.append(label)
        return fields[label]

    field_bytes = 3 * 4 * 20 * 4
    for budget in (2 * field_bytes, 5 * field_bytes, 100 * field_bytes):
        loads.clear()
        streamed = streamed_distance_matrix(load, labels, budget, field_bytes)
        np.testing.assert_allclose(streamed.values, exact, atol=1e-12)
        assert streamed.provenance["streamed"]["models_per_block"] == budget // (2 * field_bytes)
    assert len(loads) == 7  # a budget that holds everything reads each field once
    with pytest.raises(ConfigError, match="cannot hold two fields"):
        streamed_distance_matrix(load, labels, field_bytes, field_bytes)


def test_sketch_distances_track_the_exact_ones():
    from gifviz.distance import sketch_distance_matrix, sketch_field

    generator = torch.Generator().manual_seed(0)
    base = torch.randn(8, 5, 300, generator=generator)
    fields = [base + scale * torch.randn(8, 5, 300, generator=generator) for scale in np.linspace(0, 3, 10)]
    fields[4][0, 0] = 0.0
    exact = distance_matrix(fields).values
    sketched = sketch_distance_matrix([sketch_field(f, 4096) for f in fields], [str(i) for i in range(10)]).values
    upper = np.triu_indices(10, 1)
    assert np.abs(sketched - exact)[upper].max() < 0.08
    assert scipy.stats.spearmanr(sketched[upper], exact[upper]).statistic > 0.97
    assert np.allclose(np.diag(sketched), 0) and np.allclose(sketched, sketched.T)
    with pytest.raises(ConfigError, match="differ"):
        sketch_distance_matrix([sketch_field(fields[0], 4096), sketch_field(fields[1], 4096, seed=1)], ["a", "b"])


def test_zoo_sketches_report_progress_over_the_whole_zoo(tiny_zoo):
    from gifviz.hub import Zoo
    from gifviz.jobs.sketches import zoo_sketches
    from gifviz.refs import load_reference_folder

    manifest, refs = tiny_zoo
    zoo = Zoo.open(manifest)
    progress = RecordingProgress()
    references = load_reference_folder(refs, zoo.space)
    sketches = zoo_sketches(zoo, references, FieldConfig(steps=2), zoo.ids, None, dim=256, progress=progress)
    assert len(sketches) == len(zoo.ids) == 3
    started = [call[1:4] for call in progress.calls if call[0] == "start"]
    assert started == [(model_id, i, 3) for i, model_id in enumerate(zoo.ids)]


def test_comparable_keeps_the_largest_group_with_every_distance():
    nan = float("nan")
    values = np.array(
        [
            [0.0, 0.1, 0.2, nan],
            [0.1, 0.0, 0.3, nan],
            [0.2, 0.3, 0.0, nan],
            [nan, nan, nan, 0.0],
        ]
    )
    matrix = DistanceMatrix(("a", "b", "c", "parity"), values, metric="softmax")
    kept, dropped = matrix.comparable()
    assert kept.labels == ("a", "b", "c") and dropped == ("parity",) and not np.isnan(kept.values).any()
    finite, none_dropped = matrix.subset(["a", "b", "c"]).comparable()
    assert finite.labels == ("a", "b", "c") and none_dropped == ()
