"""Zeroth-order fields (gradient="zeroth-order"): the estimate, its budget and query count, store keys, query-only
models (access = "query") and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import make_cnn, write_pngs, write_zoo
from torch import nn

from gifviz.cli import main
from gifviz.config import DEFAULT_QUERIES, FieldConfig
from gifviz.errors import ConfigError, ManifestError
from gifviz.field.engine import compute_field
from gifviz.field.files import load_field_npz, save_field_npz
from gifviz.field.zeroth_order import direction_basis, queries_per_point
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import load_manifest
from gifviz.hub.query_only import QueryOnlyModel


def mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean cosine of the maps ``(N, S, D)`` of two fields."""
    return F.cosine_similarity(a.double(), b.double(), dim=2).mean().item()


class SmoothModel(nn.Module):
    """``tanh`` of projections on smooth (upsampled 4x4) patterns: a smooth model whose gradient is mostly low
    frequency, the case the low-frequency directions are for."""

    def __init__(self, size: int = 16, classes: int = 5) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(3)
        coarse = torch.randn(classes * 4, 1, 4, 4, generator=generator)
        self.patterns = nn.Parameter(F.interpolate(coarse, size=(size, size), mode="bilinear").flatten(1))
        self.mix = nn.Parameter(torch.randn(classes, classes * 4, generator=generator) / 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.patterns.T / 8) @ self.mix.T


class CountingModel(nn.Module):
    """Counts every input it answers."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.answered = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.answered += x.shape[0]
        return self.inner(x)


class _RefuseBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        raise AssertionError("a gradient was taken through a query-only model")


class NoBackward(nn.Module):
    """A CNN whose backward pass fails loudly: any gradient taken through it is a test failure."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = make_cnn(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _RefuseBackward.apply(self.inner(x))


def smooth_inputs(count: int = 6, size: int = 16, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(count, 1, 4, 4, generator=generator), size=(size, size), mode="bilinear")


def test_basis_is_orthonormal_and_low_frequency_first():
    basis = direction_basis((3, 8, 8), 12, torch.float64).flatten(1)
    assert torch.allclose(basis @ basis.T, torch.eye(12, dtype=torch.float64), atol=1e-10)
    # the first three directions are the constant of each channel
    assert torch.allclose(basis[0].view(3, 8, 8)[0], torch.full((8, 8), 1 / 8, dtype=torch.float64))
    assert basis[0].view(3, 8, 8)[1:].abs().max() == 0


def test_estimate_is_close_on_a_smooth_model_and_improves_with_budget():
    model, x = SmoothModel(), smooth_inputs()
    exact = compute_field(model, x, FieldConfig(steps=3)).values
    cosines = [
        mean_cosine(compute_field(model, x, FieldConfig(steps=3, gradient="zeroth-order", queries=q)).values, exact)
        for q in (8, 32, 128)
    ]
    assert cosines[0] < cosines[1] < cosines[2], cosines
    assert cosines[2] > 0.97, cosines  # 64 of 256 directions: a moderate budget


def test_a_complete_basis_gives_the_autograd_field():
    model, x = make_cnn(2), smooth_inputs(4)
    exact = compute_field(model, x, FieldConfig(steps=2))
    estimate = compute_field(model, x, FieldConfig(steps=2, gradient="zeroth-order", queries=2 * 256))
    assert mean_cosine(estimate.values, exact.values) > 0.99
    # completeness survives the estimate: sum F[i, S] ~ y(x_i) - y(b_i)
    assert estimate.completeness_gap().abs().max() < 0.05 * estimate.endpoint_scores.abs().max()


def test_same_seed_same_field():
    model, x = make_cnn(1), smooth_inputs(3)
    config = FieldConfig(steps=2, gradient="zeroth-order", queries=40, seed=7)
    assert torch.equal(compute_field(model, x, config).values, compute_field(model, x, config).values)


@pytest.mark.parametrize("baseline, baseline_queries", [("zeros", 1), ("noise", 5)])
def test_queries_are_counted_exactly(baseline, baseline_queries):
    model, x = CountingModel(make_cnn(0)), smooth_inputs(5)
    config = FieldConfig(steps=3, gradient="zeroth-order", queries=24, baseline=baseline, batch_size=50)
    field = compute_field(model, x, config)
    # endpoints (5) + baselines (one shared zero image, or one each) + N * S * Q path queries
    assert field.queries == model.answered == 5 + baseline_queries + 5 * 3 * 24
    assert queries_per_point(config, (1, 16, 16)) == 24
    assert field.shape == (5, 3, 256)


def test_budget_beyond_the_space_is_not_spent():
    config = FieldConfig(gradient="zeroth-order", queries=1000)
    assert queries_per_point(config, (1, 4, 4)) == 32  # 16 directions span a 1x4x4 space
    model = CountingModel(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)))
    field = compute_field(model, torch.rand(2, 1, 4, 4), config.replace(steps=2))
    assert field.queries == model.answered == 2 + 1 + 2 * 2 * 32


def test_autograd_store_keys_are_unchanged():
    # The key JSON of the default config before zeroth-order fields existed: stored fields must stay valid.
    before = (
        '{"baseline":"zeros","blur_sigma":3.0,"channel_reduction":"none","cumulative":true,"dtype":"float32",'
        '"label_class":null,"layer":null,"pool":null,"rule":"gausslegendre","seed":0,"steps":4,"target":"predicted",'
        '"topk":5}'
    )
    assert FieldConfig().to_json(for_key=True) == before
    zeroth = FieldConfig(gradient="zeroth-order")
    assert zeroth.queries == DEFAULT_QUERIES
    keys = {zeroth.to_json(for_key=True), zeroth.replace(queries=64).to_json(for_key=True), before}
    assert len(keys) == 3
    assert FieldConfig.from_dict(zeroth.to_dict()) == zeroth


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"queries": 64}, "--gradient zeroth-order"),
        ({"gradient": "zeroth-order", "queries": 7}, "even"),
        ({"gradient": "zeroth-order", "queries": 0}, "at least 2"),
        ({"gradient": "finite"}, "autograd, zeroth-order"),
    ],
)
def test_bad_budget_options(changes, fragment):
    with pytest.raises(ConfigError, match=fragment):
        FieldConfig(**changes)


def query_zoo(tmp_path: Path, access: str = "query") -> Path:
    manifest = write_zoo(tmp_path / "zoo", {"m": make_cnn(0)})
    manifest.write_text(manifest.read_text() + f'access = "{access}"\n')
    return manifest


def test_query_access_loads_a_query_only_model(tmp_path):
    manifest = load_manifest(query_zoo(tmp_path))
    model = load_model(manifest.spec("m"), manifest.space)
    assert isinstance(model.module, QueryOnlyModel)
    assert not any(p.requires_grad for p in model.module.parameters())
    assert not model.module(smooth_inputs(2).requires_grad_(True)).requires_grad
    with pytest.raises(ConfigError, match="--gradient zeroth-order"):
        compute_field(model.module, smooth_inputs(2), FieldConfig(steps=2), model.preprocess, model_id="m")


def test_query_only_model_never_has_its_gradients_taken():
    model = QueryOnlyModel(NoBackward())  # its backward raises: any gradient taken through it fails the test
    x = smooth_inputs(3)
    field = compute_field(model, x, FieldConfig(steps=2, gradient="zeroth-order", queries=16))
    assert field.queries == 3 + 1 + 3 * 2 * 16
    assert torch.isfinite(field.values).all() and field.values.abs().sum() > 0
    with pytest.raises(ConfigError, match="--gradient zeroth-order"):
        compute_field(model, x, FieldConfig(steps=2), model_id="m")
    with pytest.raises(ConfigError, match="inner layer"):
        compute_field(model, x, FieldConfig(gradient="zeroth-order", target="channel_max", layer="inner.features"))
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


def test_query_access_keeps_the_weights_digest(tmp_path):
    query = load_manifest(query_zoo(tmp_path / "q"))
    weights = load_manifest(query_zoo(tmp_path / "w", access="weights"))
    assert load_model(query.spec("m"), query.space).digest == load_model(weights.spec("m"), weights.space).digest


def test_unknown_access_is_a_manifest_error(tmp_path):
    with pytest.raises(ManifestError, match="access = 'read'"):
        load_manifest(query_zoo(tmp_path, access="read"))


def test_npz_keeps_queries(tmp_path):
    field = compute_field(make_cnn(0), smooth_inputs(2), FieldConfig(steps=2, gradient="zeroth-order", queries=8))
    loaded, info = load_field_npz(save_field_npz(field, tmp_path / "f.npz"))
    assert info["queries"] == loaded.queries == field.queries == 2 + 1 + 2 * 2 * 8


def test_cli_field_zeroth_order_matches_autograd_with_queries_in_metadata(tmp_path, capsys):
    """The issue's must-show: a 1x16x16 TorchScript classifier, N=8, S=4, the default budget."""
    manifest = write_zoo(tmp_path / "zoo", {"m": make_cnn(0)})
    refs = write_pngs(tmp_path / "refs", 8)
    common = ["field", str(manifest), "m", "--refs", str(refs), "--steps", "4", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "a.npz")]) == 0
    assert main([*common, "--out", str(tmp_path / "z.npz"), "--gradient", "zeroth-order"]) == 0
    exact, _ = load_field_npz(tmp_path / "a.npz")
    estimate, info = load_field_npz(tmp_path / "z.npz")
    assert mean_cosine(estimate.values, exact.values) >= 0.9
    assert info["queries"] == 8 * 4 * DEFAULT_QUERIES + 8 + 1
    assert info["field_config"]["gradient"] == "zeroth-order"
    assert info["field_config"]["queries"] == DEFAULT_QUERIES


def test_cli_refuses_an_autograd_field_of_a_query_only_model(tmp_path, capsys):
    refs = write_pngs(tmp_path / "refs", 2)
    args = ["field", str(query_zoo(tmp_path)), "m", "--refs", str(refs), "--out", str(tmp_path / "f.npz"), "--quiet"]
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("gifviz: error: ") and "--gradient zeroth-order" in error[0]
    assert not (tmp_path / "f.npz").exists()
    assert main([*args, "--gradient", "zeroth-order", "--queries", "16", "--steps", "2"]) == 0


def test_cli_queries_without_zeroth_order_is_one_line(tmp_path, capsys):
    manifest = write_zoo(tmp_path / "zoo", {"m": make_cnn(0)})
    refs = write_pngs(tmp_path / "refs", 2)
    code = main(["distances", str(manifest), "--refs", str(refs), "--out", str(tmp_path / "d.csv"), "--queries", "8"])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--gradient zeroth-order" in error[0]


def test_progress_shows_queries_per_second(capsys):
    from gifviz.cli.progress import TerminalProgress

    progress = TerminalProgress(True, queries_per_point=FieldConfig(gradient="zeroth-order", queries=64).queries)
    progress.start("m", 0, 1, 10)
    progress.advance(10, 10)
    progress.finish("m")
    assert "queries/s" in capsys.readouterr().err
