"""Distances: the properties the method guarantees, and the matrix path against a pairwise loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import Scaled, make_cnn

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
