"""How long the first UMAP map of a process waits: gifviz's ``embed`` against umap-learn's own neighbour search.

Run:  python benchmarks/first_map.py [--runs 3] [--models 60]

umap-learn compiles its numba kernels the first time a process uses them, and never keeps them on disk, so every new
server process (and every test process) pays for them once. gifviz hands UMAP each model's nearest neighbours (a
row-wise sort of the distance matrix) through umap-learn's ``precomputed_knn``; umap-learn's own exact search for a
precomputed matrix is the same sort behind a parallel kernel that must be compiled first. Each figure is the median
over ``--runs`` fresh processes (interpreter start and ``import umap`` left out) of the first map of one random
distance matrix of ``--models`` models, both through ``embed`` with its settings (umap-learn's variant only hands
over no neighbours). The two variants alternate, so a busy machine slows both alike. It also checks that both give
the same coordinates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

# One map in a fresh process: the time of the first fit and the coordinates, printed as one JSON line.
CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import umap
from gifviz.analysis import embedding
from gifviz.distance import DistanceMatrix

variant, models = sys.argv[1], int(sys.argv[2])
if variant == "umap-learn":  # the same embed, with no neighbours handed over: umap-learn searches them itself
    embedding.nearest_neighbours = lambda distances, k: (None, None)
points = np.random.default_rng(0).normal(size=(models, 6))
distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
matrix = DistanceMatrix(tuple(f"m{i}" for i in range(models)), distances)
start = time.perf_counter()
coordinates = embedding.embed(matrix, method="umap").coordinates
print(json.dumps({"seconds": time.perf_counter() - start, "coordinates": coordinates.tolist()}))
"""


def first_map(variant: str, models: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, variant, str(models)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", type=int, default=60)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"gifviz": [], "umap-learn": []}
    coordinates: dict[str, list] = {}
    for _ in range(args.runs):
        for variant in times:
            result = first_map(variant, args.models)
            times[variant].append(result["seconds"])
            coordinates[variant] = result["coordinates"]
    load = os.getloadavg()[0]
    print(f"first UMAP map of a fresh process, {args.models} models; median of {args.runs}; load average {load:.2f}")
    for variant, seconds in times.items():
        spread = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{variant:<11} {statistics.median(seconds):6.1f} s   ({spread})")
    ratio = statistics.median(times["umap-learn"]) / statistics.median(times["gifviz"])
    print(f"umap-learn's own search waits {ratio:.2f}x as long")
    print(f"same coordinates: {coordinates['gifviz'] == coordinates['umap-learn']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
