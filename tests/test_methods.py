"""One interface for every distance method: ModelGiF registered beside its peers, reached the same way by the
library, the testbeds and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gifviz.config import FieldConfig
from gifviz.constants import DISTANCE_METHODS
from gifviz.distance import DistanceMatrix, field_distance
from gifviz.hub import Zoo
from gifviz.jobs import store_fields, zoo_distances
from gifviz.methods import (
    AUDIT_EVIDENCE,
    METHODS,
    PEERS,
    DistanceMethod,
    MethodInputs,
    distance_method,
    method_matrix,
    method_run,
)
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore


@pytest.fixture
def zoo_and_refs(tiny_zoo):
    manifest, folder = tiny_zoo
    zoo = Zoo.open(manifest)
    return zoo, load_reference_folder(folder, zoo.space)


def test_modelgif_is_registered_beside_the_peers_in_the_parsers_order():
    assert tuple(METHODS) == DISTANCE_METHODS and METHODS["modelgif"].title == "ModelGiF"
    assert set(PEERS) | set(AUDIT_EVIDENCE) == set(METHODS) - {"modelgif"} and not set(PEERS) & set(AUDIT_EVIDENCE)
    with pytest.raises(Exception, match="unknown distance method 'nope'"):
        distance_method("nope")


def test_methods_are_built_from_keywords_only():
    method = PEERS["softmax"]
    with pytest.raises(TypeError):
        DistanceMethod(
            "x",
            "X",
            "",
            "black-box",
            False,
            True,
            False,
            method.prepare,
            method.signature,
            method.compare,
            method.evaluations,
        )


def test_modelgifs_matrix_through_the_interface_is_the_field_distance_matrix(zoo_and_refs):
    zoo, refs = zoo_and_refs
    config = FieldConfig(steps=3)
    store = FieldStore()
    expected = zoo_distances(zoo, refs, config, store=store)
    matrix = method_matrix("modelgif", zoo, zoo.ids, MethodInputs(refs, field=config, store=store))
    assert isinstance(matrix, DistanceMatrix) and matrix.labels == expected.labels
    np.testing.assert_allclose(matrix.values, expected.values, atol=1e-12)
    assert matrix.provenance["method"] == "modelgif" and matrix.provenance["field_config"]["steps"] == 3


def test_a_run_compares_any_rows_the_way_the_field_distance_does(zoo_and_refs):
    zoo, refs = zoo_and_refs
    config = FieldConfig(steps=3)
    run = method_run(METHODS["modelgif"], zoo, zoo.ids, MethodInputs(refs, field=config, store=FieldStore()))
    fields = store_fields(zoo, refs, config, zoo.ids, FieldStore())
    per_input = field_distance(fields["source"], fields["other"]).per_input
    rows = np.array([0, 2, 5])
    assert run.samples == len(refs) and run.evaluations == len(refs) * 3
    assert run.distance("source", "other", rows) == pytest.approx(float(per_input[rows].mean()), abs=1e-12)
    assert run.distance("other", "source") == pytest.approx(float(per_input.mean()), abs=1e-12)
    assert run.distance("source", "source") == 0.0


def test_a_peer_and_modelgif_give_one_matrix_type(zoo_and_refs):
    zoo, refs = zoo_and_refs
    for name in ("disagreement", "modeldiff"):
        matrix = method_matrix(name, zoo, zoo.ids, MethodInputs(refs))
        assert matrix.labels == tuple(zoo.ids) and np.allclose(np.diag(matrix.values), 0)
        assert np.allclose(matrix.values, matrix.values.T)
        assert matrix.provenance["method"] == name and "field_config" not in matrix.provenance
    # "scaled" multiplies "source"'s logits by 3: the same decision on every input
    assert method_matrix("disagreement", zoo, zoo.ids, MethodInputs(refs)).distance("source", "scaled") == 0.0


def test_cli_distances_with_a_peer_method_writes_its_matrix(tiny_zoo, tmp_path, capsys):
    from gifviz.cli import main

    manifest, folder = tiny_zoo
    out = tmp_path / "modeldiff.csv"
    assert (
        main(["distances", str(manifest), "--refs", str(folder), "--method", "modeldiff", "--out", str(out), "--quiet"])
        == 0
    )
    zoo = Zoo.open(manifest)
    expected = method_matrix("modeldiff", zoo, zoo.ids, MethodInputs(load_reference_folder(folder, zoo.space)))
    written = DistanceMatrix.from_csv(out)
    np.testing.assert_allclose(written.values, expected.values, atol=1e-12)
    assert "modeldiff" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "softmax", "--sketch"], "--sketch: for ModelGiF's fields only"),
        (["--method", "cka", "--metric", "euclidean"], "--metric: for ModelGiF's fields only"),
        (["--method", "sac-w"], "SAC-w needs references with ground-truth labels"),
        (["--method", "modeldiff", "--probe", "nobody"], "nobody"),
    ],
)
def test_cli_distances_refuses_what_a_peer_cannot_do_in_one_line(tiny_zoo, tmp_path, capsys, extra, message):
    from gifviz.cli import main

    manifest, folder = tiny_zoo
    out = tmp_path / "d.csv"
    assert main(["distances", str(manifest), "--refs", str(folder), "--out", str(out), "--quiet", *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1 and not out.exists()


def test_a_peer_run_stops_between_models_when_asked(zoo_and_refs):
    from gifviz.errors import Cancelled

    zoo, refs = zoo_and_refs
    with pytest.raises(Cancelled, match="after 1 of 3 models"):
        method_matrix("softmax", zoo, zoo.ids, MethodInputs(refs), should_stop=lambda: True)


def test_modelgifs_signature_of_one_loaded_model_is_its_stored_field(zoo_and_refs):
    zoo, refs = zoo_and_refs
    config, store = FieldConfig(steps=3), FieldStore()
    method = METHODS["modelgif"]
    signature = method.signature(zoo.load("other"), method.prepare(MethodInputs(refs, field=config, store=store), None))
    expected = store_fields(zoo, refs, config, ["other"], store)["other"]  # read back from the store, not recomputed
    assert torch.equal(signature.values, expected.values)
