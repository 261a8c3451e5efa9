"""GPU throughput of the field engine: ResNet-50 at 224 px, points/s and achieved FLOP rate against the device's own
measured bf16 matrix-multiply rate, for float32, bf16 autocast and bf16 + channels_last; captum IG as the peer; and
the effect of bf16 on distances.

Run:  python benchmarks/gpu_throughput.py                 (needs CUDA)
      python benchmarks/gpu_throughput.py --profile       (then where each engine spends its time: torch.profiler's
                                                           top operations, gifviz float32 against captum)
      python benchmarks/gpu_throughput.py --allow-cpu --size 64 --n 2 --steps 4 --batch 8   (smoke run on a CPU)
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision
from captum.attr import IntegratedGradients
from torch.utils.flop_counter import FlopCounterMode

from gifviz import FieldConfig, compute_field
from gifviz.distance import field_distance


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(function, device: torch.device, repeats: int = 3) -> float:
    function()  # warm-up (cuDNN autotuning, allocator)
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rate(device: torch.device, dtype: torch.dtype, size: int) -> float:
    """Measured FLOP/s of a square matrix product: the device's practical peak for this dtype."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    seconds = timed(lambda: [a @ b for _ in range(10)], device)
    return 10 * 2 * size**3 / seconds


def flops_per_point(model: torch.nn.Module, size: int, device: torch.device) -> float:
    """Forward + input-gradient FLOPs of one path point (counted by PyTorch's FLOP counter). Weight gradients are
    left out: the engine asks autograd for the input gradient only, so they are never computed."""
    x = torch.rand(1, 3, size, size, device=device, requires_grad=True)
    flags = [p.requires_grad for p in model.parameters()]
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    with FlopCounterMode(display=False) as counter:
        model(x)[0, 0].backward()  # the FLOP counter does not follow autograd.grad on a leaf
    for parameter, flag in zip(model.parameters(), flags, strict=True):
        parameter.requires_grad_(flag)
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--allow-cpu", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also print each engine's top operations")
    parser.add_argument(
        "--host-copy", action="store_true", help="also time ways to bring one (N, S, D) field to the host memory"
    )
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("no CUDA device here: the GPU figures are pending (run this on a GPU machine)")
        return
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    model = torchvision.models.resnet50(weights=None).eval().to(device)
    inputs = torch.rand(args.n, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    points = args.n * args.steps
    per_point = flops_per_point(model, args.size, device)
    peak = matmul_rate(device, torch.bfloat16, 8192 if device.type == "cuda" else 1024)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"{name}; ResNet-50 at {args.size} px; N={args.n}, S={args.steps} ({points} points), chunk {args.batch}")
    print(
        f"forward + input gradient: {per_point / 1e9:.2f} GFLOP per point; "
        f"measured bf16 matmul rate: {peak / 1e12:.1f} TFLOP/s\n"
    )
    configs = {
        "float32": FieldConfig(steps=args.steps, batch_size=args.batch, device=device.type),
        "bf16 autocast": FieldConfig(steps=args.steps, batch_size=args.batch, device=device.type, autocast="bfloat16"),
        "bf16 + channels_last": FieldConfig(
            steps=args.steps, batch_size=args.batch, device=device.type, autocast="bfloat16", channels_last=True
        ),
    }
    fields = {}
    print("| engine | points/s | achieved TFLOP/s | share of bf16 matmul rate | distance to float32 field |")
    print("|---|---|---|---|---|")
    for label, config in configs.items():
        seconds = timed(
            lambda label=label, config=config: fields.__setitem__(label, compute_field(model, inputs, config)), device
        )
        rate = points / seconds
        distance = field_distance(fields["float32"].values, fields[label].values).value
        print(
            f"| gifviz {label} | {rate:,.0f} | {rate * per_point / 1e12:.1f} | {rate * per_point / peak:.0%} | "
            f"{distance:.2e} |"
        )
    x = inputs.to(device)
    target = model(x).argmax(1)
    ig = IntegratedGradients(model)
    seconds = timed(lambda: ig.attribute(x, target=target, n_steps=args.steps, internal_batch_size=args.batch), device)
    rate = points / seconds
    print(
        f"| captum IG float32 (last map only) | {rate:,.0f} | {rate * per_point / 1e12:.1f} | "
        f"{rate * per_point / peak:.0%} | - |"
    )
    if args.host_copy:
        host_copies(fields["float32"].values.to(device), device)
    if args.profile:
        # where the time goes on the device (one warm run each): this found the copy of the field into pageable host
        # memory that made the engine half captum's speed on an H200 (README, GPU section)
        profile("gifviz float32", lambda: compute_field(model, inputs, configs["float32"]), device)
        profile("captum IG float32", lambda: ig.attribute(x, target=target, n_steps=args.steps,
                                                           internal_batch_size=args.batch), device)  # fmt: skip


def host_copies(values: torch.Tensor, device: torch.device, repeats: int = 5) -> None:
    """Milliseconds to bring ``values`` (a field on the device) to the host, each into fresh memory as a run of many
    models does: into pageable memory, into page-locked memory, and through a reused page-locked buffer of 64 MiB
    into pageable memory (what a long run can hold without locking every field's memory)."""
    if device.type != "cuda":
        print("\nhost copies: a CUDA device only")
        return

    def pageable() -> torch.Tensor:
        return values.cpu()

    def page_locked() -> torch.Tensor:
        host = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
        host.copy_(values, non_blocking=True)
        synchronize(device)
        return host

    staging = torch.empty(64 * 2**20 // values.element_size(), dtype=values.dtype, pin_memory=True)

    def staged() -> torch.Tensor:
        flat, host = values.reshape(-1), torch.empty(values.shape, dtype=values.dtype)
        out = host.view(-1)
        for start in range(0, flat.numel(), staging.numel()):
            stop = min(start + staging.numel(), flat.numel())
            staging[: stop - start].copy_(flat[start:stop], non_blocking=True)
            synchronize(device)
            out[start:stop].copy_(staging[: stop - start])
        return host

    megabytes = values.numel() * values.element_size() / 1e6
    print(f"\nbringing one field {tuple(values.shape)} ({megabytes:.0f} MB) to the host, best of {repeats}:")
    for label, function in (("pageable", pageable), ("page-locked", page_locked), ("staged, 64 MiB", staged)):
        seconds = timed(function, device, repeats)
        print(f"- {label}: {seconds * 1e3:.1f} ms ({megabytes / 1e3 / seconds:.1f} GB/s)")


def profile(label: str, function, device: torch.device, rows: int = 15) -> None:
    """torch.profiler's operations of one warm run of ``function``, sorted by their own time on ``device``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    function()
    synchronize(device)
    with profiler(activities=activities) as recorded:
        function()
        synchronize(device)
    order = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\n{label}: top {rows} operations by {order}")
    print(recorded.key_averages().table(sort_by=order, row_limit=rows))


if __name__ == "__main__":
    main()
