"""Zeroth-order fields: fidelity to the autograd field as the query budget grows, and IPP decisions query-only.

Run:  python benchmarks/zeroth_order.py [--budgets 32,128,512,2048] [--n 8] [--ipp-n 16] [--ipp-budgets 128,512]
      [--skip-ipp]

1. Fidelity, on one model of each architecture of the built-in zoo (3x32x32, D = 3072), N references, S = 4: the
   mean cosine of the field's maps to the autograd field, for the estimator gifviz ships (the K = Q/2 lowest-frequency
   DCT directions, antithetic central differences, computed by the field engine from model outputs), and for two
   random-direction schemes at the same K, given exact directional derivatives (autograd's, so they are favoured:
   no finite-difference error): Gaussian directions in the full space, and Gaussian directions on a coarse grid
   (``~4K`` values) upsampled bilinearly.
2. IPP: the built-in zoo's IPP testbed (ROC-AUC per attack category) with every model's field white-box (autograd)
   and query-only (zeroth-order at each budget; the owner's model is measured the same way, so both sides of each
   distance come from the same estimator), with the model queries each model took.

Tables are printed and written to benchmarks/results/zeroth_order.txt. Fields are cached in the field store.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gifviz import FieldConfig
from gifviz.bench import ipp
from gifviz.bench.suite import models_for
from gifviz.distance import distance_matrix
from gifviz.field.engine import compute_field
from gifviz.field.integration import integration_rule
from gifviz.hub import Zoo
from gifviz.jobs import store_fields
from gifviz.methods.run import MethodRun
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"
RESULTS = Path(__file__).resolve().parent / "results" / "zeroth_order.txt"


def mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return F.cosine_similarity(a.double(), b.double(), dim=2).mean().item()


def cumulative_maps(gradients: torch.Tensor, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Raw gradients ``(N, S, D)`` -> the cumulative field ``(N, S, D)`` (zero baseline: ``x - b = x``)."""
    return torch.cumsum(gradients * weights.view(1, -1, 1), dim=1) * x.flatten(1).unsqueeze(1)


def random_direction_fields(raw: torch.Tensor, weights: torch.Tensor, x: torch.Tensor, count: int, shape) -> tuple:
    """Fields from ``count`` Gaussian directions (full space, and a coarse grid upsampled), exact slopes."""
    channels, height, width = shape
    dimension = raw.shape[-1]
    generator = torch.Generator().manual_seed(0)
    full = torch.randn(count, dimension, generator=generator, dtype=torch.float64)
    grid = max(2, min(height, round(math.sqrt(4 * count / channels))))
    coarse = torch.randn(count, channels, grid, grid, generator=generator, dtype=torch.float64)
    coarse = F.interpolate(coarse, size=(height, width), mode="bilinear").flatten(1)
    coarse = coarse / coarse.norm(dim=1, keepdim=True) * math.sqrt(dimension)  # E[u u^T] ~ I, as for full
    raw = raw.double()
    return tuple(cumulative_maps((raw @ u.T) @ u / count, weights, x) for u in (full, coarse))


def fidelity(zoo: Zoo, n: int, budgets: list[int]) -> list[str]:
    refs = load_reference_folder(zoo.manifest.references, zoo.space, n)
    firsts: dict[str, str] = {}
    for spec in zoo.specs:
        firsts.setdefault(spec.arch or spec.id, spec.id)
    header = f"{'architecture':<14}" + "".join(f"{f'Q={q} dct/gauss/coarse':>26}" for q in budgets)
    lines = [f"Fidelity: mean cosine to autograd (N={n}, S=4, built-in zoo, D={math.prod(zoo.space.shape)})", header]
    for arch, model_id in firsts.items():
        model = zoo.load(model_id)
        exact = compute_field(model.module, refs, FieldConfig(), model.preprocess)
        raw = compute_field(model.module, refs, FieldConfig(cumulative=False), model.preprocess).values
        weights = integration_rule("gausslegendre", 4)[1].double()
        row = f"{arch:<14}"
        for budget in budgets:
            started = time.perf_counter()
            estimate = compute_field(
                model.module, refs, FieldConfig(gradient="zeroth-order", queries=budget), model.preprocess
            )
            seconds = time.perf_counter() - started
            gauss, coarse = random_direction_fields(raw, weights, refs.images, budget // 2, zoo.space.shape)
            cells = [mean_cosine(estimate.values, exact.values), mean_cosine(gauss, exact.values)]
            cells.append(mean_cosine(coarse, exact.values))
            row += f"{'/'.join(f'{c:.2f}' for c in cells):>20} {seconds:4.1f}s"
        lines.append(row)
        print(row, flush=True)
    return lines


def matrix_run(matrix) -> MethodRun:
    index = {label: i for i, label in enumerate(matrix.labels)}
    return MethodRun("m", "m", "white-box", 1, 1, 0.0, lambda a, b, rows: float(matrix.values[index[a], index[b]]))


def ipp_table(zoo: Zoo, n: int, budgets: list[int], store: FieldStore | None) -> list[str]:
    refs = load_reference_folder(zoo.manifest.references, zoo.space, n)
    ids = list(models_for(zoo, "ipp"))
    cases = ipp.ipp_cases(zoo)
    configs = [("white-box", FieldConfig(), 0)]
    configs += [(f"query-only Q={q}", FieldConfig(gradient="zeroth-order", queries=q), q) for q in budgets]
    lines = [f"IPP ROC-AUC per category, built-in zoo, {len(ids)} models, N={n}, S=4"]
    rows = []
    for name, config, budget in configs:
        started = time.perf_counter()
        fields = store_fields(zoo, refs, config, ids, store)
        seconds = time.perf_counter() - started
        aucs = ipp.category_aucs(matrix_run(distance_matrix([fields[i] for i in ids], ids)), cases)
        # Queries per model: endpoints (N), one shared zero baseline, N * S * Q path points.
        queries = n + 1 + n * 4 * budget if budget else 0
        rows.append((name, aucs, queries, seconds))
        print(name, {k: round(v, 3) for k, v in aucs.items()}, queries, f"{seconds:.0f}s", flush=True)
    categories = list(rows[0][1])
    widths = [max(12, len(c) + 2) for c in categories]
    header = "".join(f"{c:>{w}}" for c, w in zip(categories, widths, strict=True))
    lines.append(f"{'fields':<20}{header}{'queries/model':>15}{'time':>8}")
    for name, aucs, queries, seconds in rows:
        cells = "".join(f"{aucs[c]:>{w}.3f}" for c, w in zip(categories, widths, strict=True))
        lines.append(f"{name:<20}{cells}{queries if queries else '-':>15}{seconds:>7.0f}s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="32,128,512,2048", help="queries per path point, fidelity table")
    parser.add_argument("--n", type=int, default=8, help="references for the fidelity table")
    parser.add_argument("--ipp-n", type=int, default=16, help="references for the IPP table")
    parser.add_argument("--ipp-budgets", default="128,512", help="queries per path point, IPP table")
    parser.add_argument("--skip-ipp", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    zoo = Zoo.open(BUILTIN)
    lines = fidelity(zoo, args.n, [int(q) for q in args.budgets.split(",")])
    if not args.skip_ipp:
        store = None if args.no_cache else FieldStore()
        lines += ["", *ipp_table(zoo, args.ipp_n, [int(q) for q in args.ipp_budgets.split(",")], store)]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    temporary = RESULTS.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(RESULTS)


if __name__ == "__main__":
    main()
