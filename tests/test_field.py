"""The field engine against the method's guarantees and against captum."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients
from conftest import make_cnn
from torch import nn

from gifviz import FieldConfig, Preprocess, compute_field, field_distance
from gifviz.errors import Cancelled, ConfigError, ModelOutputError
from gifviz.field.baselines import make_baselines, shuffle_partner
from gifviz.field.integration import integration_rule


@pytest.fixture
def inputs() -> torch.Tensor:
    return torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_completeness(inputs, rule):
    model = make_cnn(0)
    field = compute_field(model, inputs, FieldConfig(steps=64, rule=rule, dtype="float64"))
    _, delta = IntegratedGradients(make_cnn(0).double()).attribute(
        inputs.double(),
        torch.zeros_like(inputs).double(),
        target=field.targets,
        n_steps=64,
        method=rule,
        return_convergence_delta=True,
    )
    gap = field.completeness_gap()
    # Equal to captum's own convergence delta, so no looser than the method itself.
    torch.testing.assert_close(gap, delta.double(), atol=1e-6, rtol=1e-4)
    assert gap.abs().max() < 0.05 * (field.endpoint_scores - field.baseline_scores).abs().max()


def test_last_map_equals_captum_integrated_gradients(inputs):
    model = make_cnn(0)
    field = compute_field(model, inputs, FieldConfig(steps=20))
    expected = IntegratedGradients(model).attribute(
        inputs, torch.zeros_like(inputs), target=field.targets, n_steps=20, method="gausslegendre"
    )
    last = field.values[:, -1].view_as(expected)
    relative = (last - expected).norm() / expected.norm()
    assert relative < 1e-5


def test_targets_are_the_predicted_classes(inputs):
    model = make_cnn(0)
    field = compute_field(model, inputs, FieldConfig(steps=4))
    assert torch.equal(field.targets, model(inputs).argmax(1))
    torch.testing.assert_close(field.endpoint_scores, model(inputs).max(1).values.double())


def test_batched_equals_per_point_loop(inputs):
    model = make_cnn(0)
    steps = 6
    field = compute_field(model, inputs, FieldConfig(steps=steps, dtype="float64"))
    nodes, weights = integration_rule("gausslegendre", steps)
    double = make_cnn(0).double()
    for i in range(inputs.shape[0]):
        running = torch.zeros(inputs.shape[1:], dtype=torch.float64)
        for k in range(steps):
            point = (nodes[k] * inputs[i].double()).unsqueeze(0).requires_grad_(True)
            score = double(point)[0, field.targets[i]]
            (gradient,) = torch.autograd.grad(score, point)
            running = running + weights[k] * gradient[0] * inputs[i].double()
            torch.testing.assert_close(
                field.values[i, k].double(), running.flatten().float().double(), atol=1e-6, rtol=1e-5
            )


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_chunk_size_invariance(inputs, batch_size):
    model = make_cnn(0)
    reference = compute_field(model, inputs, FieldConfig(steps=8, batch_size=32))
    field = compute_field(model, inputs, FieldConfig(steps=8, batch_size=batch_size))
    torch.testing.assert_close(field.values, reference.values, atol=1e-6, rtol=1e-5)


def test_raw_gradients_accumulate_to_the_cumulative_field(inputs):
    model = make_cnn(0)
    raw = compute_field(model, inputs, FieldConfig(steps=5, cumulative=False, dtype="float64"))
    cumulative = compute_field(model, inputs, FieldConfig(steps=5, dtype="float64"))
    _, weights = integration_rule("gausslegendre", 5)
    rebuilt = (raw.values.double() * weights.view(1, -1, 1)).cumsum(1) * inputs.flatten(1).double().unsqueeze(1)
    torch.testing.assert_close(rebuilt.float(), cumulative.values, atol=1e-6, rtol=1e-5)


def test_channel_mean_and_pooling_reduce_the_full_field():
    rgb = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    model = make_cnn(0, channels=3)
    full = compute_field(model, rgb, FieldConfig(steps=4, dtype="float64"))
    reduced = compute_field(model, rgb, FieldConfig(steps=4, channel_reduction="mean", pool=(4, 4), dtype="float64"))
    assert reduced.shape == (3, 4, 16) and reduced.map_shape == (1, 4, 4)
    expected = torch.nn.functional.avg_pool2d(full.maps().flatten(0, 1).mean(1, keepdim=True), 4)
    torch.testing.assert_close(reduced.maps().flatten(0, 1).float(), expected.float(), atol=1e-7, rtol=1e-5)


def test_models_of_different_resolution_share_one_input_space(inputs):
    """A 32-px model reads the 16-px space through its preprocess; its field lives on the 16-px grid."""
    small = make_cnn(0, size=16)
    large = make_cnn(1, size=32)
    resize = Preprocess(size=(32, 32), mean=(0.5,), std=(0.25,))
    field_small = compute_field(small, inputs, FieldConfig(steps=4))
    field_large = compute_field(large, inputs, FieldConfig(steps=4), resize)
    assert field_small.shape == field_large.shape == (4, 4, 256)
    # The gradient really flows through the resize: compare with autograd on the composed function.
    x = inputs[:1].clone().requires_grad_(True)
    composed = large(resize(x))[0, field_large.targets[0]]
    (gradient,) = torch.autograd.grad(composed, x)
    raw = compute_field(large, inputs[:1], FieldConfig(steps=2, rule="riemann_right", cumulative=False), resize)
    torch.testing.assert_close(raw.values[0, -1], gradient.flatten(), atol=1e-6, rtol=1e-4)


def test_inplace_flags_and_training_mode_are_restored(inputs):
    model = make_cnn(0).train()
    compute_field(model, inputs, FieldConfig(steps=2))
    assert model.training
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


class SigmoidThenInplaceReLU(nn.Module):
    """sigmoid's backward needs its output, which the in-place ReLU overwrites: autograd refuses the first try."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.head = nn.Linear(3 * 16 * 16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(torch.sigmoid(self.conv(x))).flatten(1))


def test_an_inplace_activation_that_breaks_autograd_is_switched_off_and_the_chunk_recomputed(inputs):
    torch.manual_seed(3)
    model = SigmoidThenInplaceReLU().eval()
    point = inputs[:1].clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match="inplace operation"):
        torch.autograd.grad(model(point)[0, 0], point)
    field = compute_field(model, inputs, FieldConfig(steps=4))
    safe = SigmoidThenInplaceReLU().eval()
    safe.load_state_dict(model.state_dict())
    safe.act.inplace = False
    torch.testing.assert_close(field.values, compute_field(safe, inputs, FieldConfig(steps=4)).values)
    assert model.act.inplace  # the caller's model is given back as it was


class FunctionalInplaceAfterSigmoid(SigmoidThenInplaceReLU):
    """The same layers plus an in-place write that no ``inplace`` flag controls: switching the flags off cannot help."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.sigmoid(self.act(self.conv(x))).mul_(2.0).flatten(1))


def test_an_inplace_error_that_no_flag_causes_is_raised_not_retried_forever(inputs):
    model = FunctionalInplaceAfterSigmoid().eval()
    with pytest.raises(RuntimeError, match="inplace operation"):
        compute_field(model, inputs, FieldConfig(steps=2))
    assert model.act.inplace


def test_float64_request_leaves_the_callers_model_in_float32(inputs):
    model = make_cnn(0)
    compute_field(model, inputs, FieldConfig(steps=2, dtype="float64"))
    assert next(model.parameters()).dtype == torch.float32


def test_progress_reports_every_point_and_cancel_stops(inputs):
    seen = []
    compute_field(make_cnn(0), inputs, FieldConfig(steps=5, batch_size=6), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (20, 20) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(Cancelled):
        compute_field(make_cnn(0), inputs, FieldConfig(steps=5, batch_size=6), should_stop=lambda: True)


def test_label_and_sum_targets(inputs):
    model = make_cnn(0)
    labels = torch.tensor([1, 2, 3, 4])
    field = compute_field(model, inputs, FieldConfig(steps=3, target="label"), labels=labels)
    assert torch.equal(field.targets, labels)
    summed = compute_field(model, inputs, FieldConfig(steps=3, target="sum"))
    torch.testing.assert_close(summed.endpoint_scores, model(inputs).sum(1).double())


def test_layer_target_reads_an_inner_module(inputs):
    model = make_cnn(0)
    field = compute_field(model, inputs, FieldConfig(steps=3, target="channel_max", layer="features"))
    expected = model.features(inputs).flatten(2).amax(2).sum(1)
    torch.testing.assert_close(field.endpoint_scores, expected.double())
    with pytest.raises(ConfigError, match="not a module"):
        compute_field(model, inputs, FieldConfig(steps=3, target="channel_max", layer="nope"))


def test_topk_map_on_dense_outputs(inputs):
    dense = nn.Conv2d(1, 2, 3, padding=1)
    field = compute_field(dense, inputs, FieldConfig(steps=3, target="topk_map", topk=4))
    assert field.shape == (4, 3, 256)
    with pytest.raises(ModelOutputError, match=r"needs \(batch, classes\)"):
        compute_field(dense, inputs, FieldConfig(steps=3))


def test_nan_model_is_reported(inputs):
    class NaNModel(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :3] * float("nan")

    with pytest.raises(ModelOutputError, match="NaN"):
        compute_field(NaNModel(), inputs, FieldConfig(steps=2))


def test_baselines(inputs):
    partner = shuffle_partner(10, seed=4)
    assert not torch.any(partner == torch.arange(10)) and sorted(partner.tolist()) == list(range(10))
    assert torch.equal(partner, shuffle_partner(10, seed=4))
    shuffled = make_baselines(inputs, FieldConfig(baseline="shuffle"))
    assert not any(torch.equal(shuffled[i], inputs[i]) for i in range(4))
    noise = make_baselines(inputs, FieldConfig(baseline="noise", seed=2))
    assert torch.equal(noise, make_baselines(inputs, FieldConfig(baseline="noise", seed=2)))
    assert noise.min() >= 0 and noise.max() <= 1
    blurred = make_baselines(inputs, FieldConfig(baseline="blur", blur_sigma=2.0))
    assert blurred.shape == inputs.shape and blurred.std() < inputs.std()
    with pytest.raises(ConfigError, match="at least 2"):
        make_baselines(inputs[:1], FieldConfig(baseline="shuffle"))


def test_config_json_is_canonical_and_validated():
    config = FieldConfig(steps=10, pool=4)
    assert config.pool == (4, 4)
    assert FieldConfig.from_dict(config.to_dict()) == config
    assert "batch_size" not in config.to_json(for_key=True)
    assert config.to_json(for_key=True) == config.replace(batch_size=3, device="cpu").to_json(for_key=True)
    for bad in ({"steps": 0}, {"rule": "simpson"}, {"baseline": "ones"}, {"target": "x"}, {"target": "channel_max"}):
        with pytest.raises(ConfigError):
            FieldConfig(**bad)


class RunsOutOfMemory(torch.nn.Module):
    """Raises the device's out-of-memory error for chunks larger than ``limit`` points."""

    def __init__(self, inner: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad and x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        self.sizes.append(x.shape[0])
        return self.inner(x)


def test_out_of_memory_halves_the_chunk_and_gives_the_same_field():
    model = make_cnn(0)
    inputs = torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    expected = compute_field(model, inputs, FieldConfig(steps=8, batch_size=8)).values
    limited = RunsOutOfMemory(model, limit=10)
    field = compute_field(limited, inputs, FieldConfig(steps=8, batch_size=64))
    torch.testing.assert_close(field.values, expected)
    assert max(size for size in limited.sizes if size != 5) <= 10  # 64 -> 32 -> 16 -> 8 points per chunk


def test_autocast_and_channels_last():
    model = make_cnn(0)
    inputs = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    # on the CPU, whose convolutions agree across memory formats to 1e-4 (test_gpu.py holds cuDNN's own tolerance)
    full = compute_field(model, inputs, FieldConfig(steps=6, device="cpu"))
    nhwc = compute_field(model, inputs, FieldConfig(steps=6, channels_last=True, device="cpu"))
    torch.testing.assert_close(nhwc.values, full.values, rtol=1e-4, atol=1e-6)
    half = compute_field(model, inputs, FieldConfig(steps=6, autocast="bfloat16", device="cpu"))
    assert half.values.dtype == torch.float32
    assert 0 < field_distance(full.values, half.values).value < 0.05  # bfloat16 rounding, not a different field
    # Execution options stay out of the cache key; autocast enters it only when set (older keys stay valid).
    assert "channels_last" not in FieldConfig(channels_last=True).to_json(for_key=True)
    assert "autocast" not in FieldConfig().to_json(for_key=True)
    assert '"autocast":"bfloat16"' in FieldConfig(autocast="bfloat16").to_json(for_key=True)


def test_a_staged_copy_moves_every_value_whatever_the_buffer_size():
    """The GPU's way to the host (a page-locked buffer reused chunk by chunk), checked on the CPU: a buffer that
    does not divide the field, one of a single value and one larger than the field."""
    from gifviz.field.engine import staged_copy

    source = torch.arange(1000, dtype=torch.float32)
    for size in (7, 1, 1000, 4096):
        out, waits = torch.full_like(source, -1.0), []
        staged_copy(source, out, torch.empty(size), lambda waits=waits: waits.append(1))
        assert torch.equal(out, source)
        assert len(waits) == -(-1000 // size)
