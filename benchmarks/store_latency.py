"""Cache-hit latency of the field store against recomputation: one field, and a 50-model distance matrix.

Run:  python benchmarks/store_latency.py [--models 50] [--n 16] [--steps 10]
Uses the built-in zoo; measured side by side in one run, in a fresh temporary store.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gifviz import FieldConfig
from gifviz.hub import Zoo
from gifviz.jobs import store_fields, zoo_distances
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    zoo = Zoo.open(BUILTIN)
    ids = list(zoo.ids[: args.models])
    refs = load_reference_folder(zoo.manifest.references, zoo.space, args.n)
    config = FieldConfig(steps=args.steps)
    for model_id in ids:
        zoo.load(model_id)  # loading is not what is measured
    with tempfile.TemporaryDirectory() as home:
        store = FieldStore(home)
        one = ids[0]
        cold_one = timed(lambda: store_fields(zoo, refs, config, [one], store))
        warm_one = statistics.median(timed(lambda: store_fields(zoo, refs, config, [one], store)) for _ in range(5))
        cold_all = timed(lambda: zoo_distances(zoo, refs, config, ids, store=store))
        warm_all = statistics.median(
            timed(lambda: zoo_distances(zoo, refs, config, ids, store=FieldStore(home))) for _ in range(3)
        )
        size = FieldStore(home).total_bytes()
    n, s = args.n, args.steps
    print(f"built-in zoo, N={n}, S={s}, D=3072, float32 blobs ({size / len(ids) / 2**20:.2f} MiB per field)")
    print()
    print("| what | recompute | cache hit | speed-up |")
    print("|---|---|---|---|")
    print(
        f"| one field ({ids[0]}) | {cold_one * 1000:.0f} ms | {warm_one * 1000:.1f} ms | {cold_one / warm_one:.0f}x |"
    )
    print(f"| {len(ids)}-model distance matrix | {cold_all:.2f} s | {warm_all:.2f} s | {cold_all / warm_all:.1f}x |")


if __name__ == "__main__":
    main()
