"""The engine on a real CUDA device: the same field as on the CPU, bf16 autocast and channels_last there, a frozen
TorchScript model run through its CPU wrapper, a real allocator out-of-memory error halving the chunk, and a zoo's
fields and distances. Skipped where no CUDA GPU is present (CI has none); run on a lent GPU machine."""

from __future__ import annotations

import pytest
import torch
from conftest import batch_normed_cnn, make_cnn, save_frozen, write_zoo

from gifviz import FieldConfig, compute_field
from gifviz.distance import field_distance
from gifviz.hub import Zoo
from gifviz.jobs import zoo_distances
from gifviz.refs import ReferenceSet

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _inputs(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_a_cuda_field_equals_the_cpu_field():
    inputs = _inputs()
    on_cpu = compute_field(make_cnn(0), inputs, FieldConfig(steps=8, device="cpu"))
    on_gpu = compute_field(make_cnn(0), inputs, FieldConfig(steps=8, device="cuda"))
    assert on_gpu.values.device.type == "cpu" and on_gpu.values.dtype == torch.float32
    # cuDNN's convolutions sum in another order than the CPU's: float32 rounding, not a different field
    torch.testing.assert_close(on_gpu.values, on_cpu.values, rtol=1e-3, atol=1e-5)
    assert field_distance(on_cpu.values, on_gpu.values).value < 1e-5
    model = make_cnn(0)
    compute_field(model, inputs, FieldConfig(steps=2, device="cuda"))
    assert next(model.parameters()).device.type == "cpu"  # the caller's model is back where it was
    assert on_gpu.values.is_contiguous()
    in_double = compute_field(make_cnn(0), inputs, FieldConfig(steps=8, device="cuda", dtype="float64"))
    torch.testing.assert_close(in_double.values, on_cpu.values, rtol=1e-3, atol=1e-5)


def test_bf16_autocast_and_channels_last_on_cuda():
    inputs = _inputs(seed=1)
    full = compute_field(make_cnn(1), inputs, FieldConfig(steps=6, device="cuda"))
    nhwc = compute_field(make_cnn(1), inputs, FieldConfig(steps=6, device="cuda", channels_last=True))
    torch.testing.assert_close(nhwc.values, full.values, rtol=1e-3, atol=1e-5)
    half = compute_field(make_cnn(1), inputs, FieldConfig(steps=6, device="cuda", autocast="bfloat16"))
    assert half.values.dtype == torch.float32
    assert 0 < field_distance(full.values, half.values).value < 0.05


def test_a_frozen_torchscript_model_gives_its_cpu_field_when_cuda_is_asked(tmp_path):
    model = batch_normed_cnn(0)
    save_frozen(model, tmp_path / "frozen.pt", traced=False)
    frozen = torch.jit.load(str(tmp_path / "frozen.pt"))
    inputs = _inputs(seed=2)
    expected = compute_field(batch_normed_cnn(0), inputs, FieldConfig(steps=4, device="cpu"))
    field = compute_field(frozen, inputs, FieldConfig(steps=4, device="cuda"))
    torch.testing.assert_close(field.values, expected.values, rtol=1e-4, atol=1e-6)


class AllocatesTooMuch(torch.nn.Module):
    """Asks the CUDA allocator for far more than the card holds when a chunk has more than ``limit`` points: a real
    ``torch.OutOfMemoryError`` from the device, not a simulated one (plain cudaMalloc fails cleanly)."""

    def __init__(self, inner: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad and x.shape[0] > self.limit:
            total = torch.cuda.get_device_properties(x.device).total_memory
            torch.empty(4 * total, dtype=torch.uint8, device=x.device)
        self.sizes.append(x.shape[0])
        return self.inner(x)


def test_a_real_out_of_memory_error_halves_the_chunk_and_gives_the_same_field():
    inputs = _inputs(n=5, seed=3)
    expected = compute_field(make_cnn(0), inputs, FieldConfig(steps=8, batch_size=8, device="cuda")).values
    limited = AllocatesTooMuch(make_cnn(0), limit=10)
    field = compute_field(limited, inputs, FieldConfig(steps=8, batch_size=64, device="cuda"))
    torch.testing.assert_close(field.values, expected)
    assert max(size for size in limited.sizes if size != 5) <= 10


def test_a_zoo_matrix_on_cuda_equals_the_cpu_matrix(tmp_path):
    zoo = Zoo.open(write_zoo(tmp_path, {"a": make_cnn(0), "b": make_cnn(1), "c": make_cnn(2)}))
    references = ReferenceSet(_inputs(n=3, seed=4), ("r0", "r1", "r2"))
    on_cpu = zoo_distances(zoo, references, FieldConfig(steps=4, device="cpu"))
    on_gpu = zoo_distances(zoo, references, FieldConfig(steps=4, device="cuda"))
    assert on_gpu.labels == on_cpu.labels
    torch.testing.assert_close(torch.as_tensor(on_gpu.values), torch.as_tensor(on_cpu.values), atol=1e-5, rtol=0)


class FailsOnTheDevice(torch.nn.Module):
    """A CPU model whose forward fails once it runs on the GPU."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = make_cnn(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("broken forward")


def test_a_call_that_fails_on_cuda_still_leaves_the_model_where_it_was():
    model = FailsOnTheDevice()
    with pytest.raises(Exception, match="broken forward"):
        compute_field(model, _inputs(), FieldConfig(steps=2, device="cuda"))
    assert {p.device.type for p in model.parameters()} == {"cpu"}
