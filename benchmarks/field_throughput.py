"""Throughput of the field engine against captum, and of the matrix-product distance path against a pairwise loop.

Run:  python benchmarks/field_throughput.py [--n 16] [--steps 20] [--models 200]
Prints a Markdown table (medians of 7 runs after a warm-up, the two engines timed alternately in this run; the
captum side includes the forward pass that finds the predicted class, which the engine also does).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from captum.attr import IntegratedGradients
from torch import nn

from gifviz import FieldConfig, compute_field, distance_matrix, field_distance
from gifviz.hub import Zoo

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 10),
    ).eval()


def interleaved_seconds(first: Callable[[], object], second: Callable[[], object], repeats: int = 7):
    """Median seconds of each, timed alternately so that machine noise and drift hit both alike."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for function, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            function()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def median_seconds(function: Callable[[], object], repeats: int = 3) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def field_rows(n: int, steps: int, batch: int) -> list[str]:
    rows = []
    torch.manual_seed(0)
    inputs = torch.rand(n, 3, 32, 32)
    models = {"small CNN": small_cnn(), "ResNet-18 (3x32x32)": torchvision.models.resnet18(num_classes=10).eval()}
    zoo = Zoo.open(BUILTIN)
    for model_id in ("src-cnn", "src-res", "unl-unrelated-1", "unl-unrelated-2", "unl-unrelated-3"):  # zoo archs
        model = zoo.load(model_id)
        models[f"zoo {model.arch} ({model_id})"] = model.module
    for name, model in models.items():
        config = FieldConfig(steps=steps, batch_size=batch, device="cpu")
        ig = IntegratedGradients(model)

        def captum_field(model=model, ig=ig) -> None:
            # The same job as the engine's default target: the predicted class needs one forward pass first.
            with torch.no_grad():
                targets = model(inputs).argmax(dim=1)
            ig.attribute(
                inputs,
                torch.zeros_like(inputs),
                target=targets,
                n_steps=steps,
                method="gausslegendre",
                internal_batch_size=batch,
            )

        ours, theirs = interleaved_seconds(lambda m=model, c=config: compute_field(m, inputs, c), captum_field)
        points = n * steps
        rows.append(f"| {name} | {n} x {steps} | {points / ours:,.0f} | {points / theirs:,.0f} | {theirs / ours:.2f} |")
    return rows


def matrix_row(models: int) -> str:
    torch.manual_seed(0)
    fields = [torch.randn(8, 10, 3 * 32 * 32) for _ in range(models)]
    labels = [f"m{i}" for i in range(models)]
    gemm = median_seconds(lambda: distance_matrix(fields, labels))

    def loop() -> None:
        for i in range(models):
            for j in range(i + 1, models):
                field_distance(fields[i], fields[j])

    start = time.perf_counter()
    loop()  # one run: the loop is the slow side
    pairwise = time.perf_counter() - start
    name = f"distance matrix, M={models} fields of (8, 10, 3072)"
    return f"| {name} | {gemm:.2f} s | {pairwise:.2f} s | {pairwise / gemm:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16, help="reference inputs")
    parser.add_argument("--steps", type=int, default=20, help="path steps")
    parser.add_argument("--batch", type=int, default=160, help="points per chunk (both engines)")
    parser.add_argument("--models", type=int, default=200, help="fields in the distance matrix")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print()
    print("| model | N x S | gifviz points/s | captum IG points/s | gifviz / captum |")
    print("|---|---|---|---|---|")
    for row in field_rows(args.n, args.steps, args.batch):
        print(row)
    print()
    print("| computation | matrix product | pairwise loop | speed-up |")
    print("|---|---|---|---|")
    print(matrix_row(args.models))


if __name__ == "__main__":
    main()
