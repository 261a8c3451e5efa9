"""Frozen TorchScript files (``torch.jit.freeze``): no parameters, no training flag, the weights constants of the
graph. They load, each has a digest of its own (the field store is keyed by it), and their fields are their own."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import batch_normed_cnn, perturbed, save_frozen, write_pngs, write_zoo
from torch import nn

from gifviz.audit.run_audit import audit
from gifviz.bench.report import summary
from gifviz.bench.suite import BenchResult
from gifviz.errors import ConfigError
from gifviz.hub import Zoo
from gifviz.hub.digest import architecture_digest
from gifviz.methods import MethodInputs, method_matrix
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore
from gifviz.torch_helpers import FrozenOnCpu, on_device


@pytest.fixture()
def frozen_zoo(tmp_path):
    """``a`` and ``b`` frozen (scripted), ``a-traced`` frozen by tracing, ``a-live`` the same weights as ``a``
    scripted and not frozen."""
    a, b = batch_normed_cnn(0), batch_normed_cnn(1)
    models = {"a": a, "b": b, "a-traced": a, "a-live": a}
    manifest = write_zoo(tmp_path, models)
    save_frozen(a, tmp_path / "models" / "a.pt", traced=False)
    save_frozen(b, tmp_path / "models" / "b.pt", traced=False)
    save_frozen(a, tmp_path / "models" / "a-traced.pt", traced=True)
    return Zoo.open(manifest), tmp_path


def test_frozen_files_load_and_each_has_a_digest_of_its_own(frozen_zoo):
    zoo, root = frozen_zoo
    loaded = {m: zoo.load(m) for m in ("a", "b", "a-traced", "a-live")}
    assert not list(loaded["a"].module.parameters())
    digests = {m: model.digest for m, model in loaded.items()}
    assert len(set(digests.values())) == 4  # other weights, another graph, or parameters instead of constants
    assert Zoo.open(root / "zoo.toml").load("a").digest == digests["a"]  # the same file, the same digest


def test_two_frozen_models_get_their_own_fields_from_one_store(frozen_zoo):
    """Before frozen graphs were digested, every frozen file of one preprocess shared a digest, and the store handed
    the first one's field to the next: two different models read at distance 0."""
    zoo, root = frozen_zoo
    references = load_reference_folder(write_pngs(root / "refs", 4), zoo.space)
    inputs = MethodInputs(references, store=FieldStore(root / "store"))
    matrix = method_matrix("modelgif", zoo, ["a", "b", "a-live"], inputs)
    assert matrix.distance("a", "b") > 0.05
    assert matrix.distance("a", "a-live") == pytest.approx(0.0, abs=1e-4)  # the same function, frozen or not


def test_frozen_models_of_one_architecture_share_an_architecture_digest(frozen_zoo):
    """The same-arch calibration rule needs to know the source's kind: two frozen files of one architecture match by
    the shapes of their graphs' constants, a frozen MLP does not."""
    zoo, root = frozen_zoo
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(256, 10)).eval()
    save_frozen(mlp, root / "mlp.pt", traced=False)
    kinds = {m: architecture_digest(zoo.load(m).module) for m in ("a", "b", "a-live")}
    assert kinds["a"] is not None and kinds["a"] == kinds["b"] != kinds["a-live"]  # freezing folds the batch norm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert architecture_digest(torch.jit.load(str(root / "mlp.pt"))) not in {None, kinds["a"]}


def test_a_method_that_cannot_read_one_model_still_reads_the_others(tmp_path):
    """CKA reads penultimate features from a child module, which a frozen file does not have: that suspect's row is
    n/a with why, and every other model is still read (before, one such model made the method n/a for all)."""
    source = batch_normed_cnn(0)
    models = {"source": source, "frozen": source, "live": perturbed(copy.deepcopy(source), 0.05, seed=1)}
    models.update({f"ind{i}": batch_normed_cnn(10 + i) for i in range(4)})
    manifest = write_zoo(tmp_path, models, fields={f"ind{i}": {"relation": "independent"} for i in range(4)})
    save_frozen(source, tmp_path / "models" / "frozen.pt", traced=False)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(write_pngs(tmp_path / "refs", 6), zoo.space)
    result = audit(zoo, "source", ["frozen", "live"], None, ["cka", "first-layer"], references)
    frozen = result.row("frozen", "cka")
    assert frozen.verdict == "n/a" and "Linear CKA cannot read this model" in frozen.note
    assert "no child modules" in frozen.note
    assert result.row("live", "cka").verdict != "n/a"
    assert result.row("frozen", "first-layer").verdict != "n/a"  # the weights are read from the graph


def test_a_source_the_method_cannot_read_fails_the_method_as_a_whole(tmp_path):
    """No suspect can be compared with a source the method cannot read: one reason, and no suspect is evaluated."""
    source = batch_normed_cnn(0)
    models = {"source": source, "live": perturbed(copy.deepcopy(source), 0.05, seed=1)}
    models.update({f"ind{i}": batch_normed_cnn(10 + i) for i in range(3)})
    manifest = write_zoo(tmp_path, models, fields={f"ind{i}": {"relation": "independent"} for i in range(3)})
    save_frozen(source, tmp_path / "models" / "source.pt", traced=False)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(write_pngs(tmp_path / "refs", 6), zoo.space)
    result = audit(zoo, "source", ["live"], None, ["cka", "first-layer"], references)
    assert "Linear CKA cannot read the source 'source'" in result.row("live", "cka").note
    assert result.row("live", "first-layer").verdict != "n/a"


def test_a_frozen_module_runs_on_the_cpu_and_in_float32_only():
    """Moving a module moves its parameters and buffers, never a graph's constants: a frozen module runs where it was
    loaded (the device is an execution detail), and another dtype, which would change the field, is refused."""
    model = batch_normed_cnn(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        frozen = torch.jit.freeze(torch.jit.script(model))
    assert on_device(frozen, torch.device("cpu"), torch.float32) is frozen
    elsewhere = on_device(frozen, torch.device("cuda"), torch.float32)  # no GPU needed to build it
    assert isinstance(elsewhere, FrozenOnCpu)
    x = torch.randn(2, 1, 16, 16)
    assert torch.allclose(elsewhere(x), model(x), atol=1e-5)
    with pytest.raises(
        ConfigError, match=r"model 'm' is a frozen TorchScript file .* float32 constants .* --dtype float32"
    ):
        on_device(frozen, torch.device("cpu"), torch.float64, "m")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        doubled = torch.jit.freeze(torch.jit.script(batch_normed_cnn(0).double()))
    assert on_device(doubled, torch.device("cpu"), torch.float64) is doubled  # its own dtype
    with pytest.raises(ConfigError, match=r"float64 constants .* --dtype float64"):
        on_device(doubled, torch.device("cpu"), torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        halved = torch.jit.freeze(torch.jit.script(batch_normed_cnn(0).half()))
    with pytest.raises(ConfigError, match=r"float16 constants .* float32 or float64: freeze a float32 copy"):
        on_device(halved, torch.device("cpu"), torch.float32)


def test_the_testbed_table_shows_the_models_a_method_could_not_read():
    table = pd.DataFrame(
        [
            {
                "method": m,
                "title": m,
                "metric": "finetune",
                "value": 0.9,
                "low": np.nan,
                "high": np.nan,
                "samples": 4,
                "evaluations per model": 4,
                "seconds": 0.1,
                "note": "",
                "unread": unread,
            }
            for m, unread in (("cka", "frozen: no child modules"), ("modelgif", ""))
        ]
    )
    shown = summary(BenchResult("ipp", table, pd.DataFrame(), pd.DataFrame()))
    assert shown.loc["cka", "unread"] == "frozen: no child modules" and "note" not in shown
