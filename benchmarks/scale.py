"""Scale: bytes per stored field, peak memory of a streamed 1,000-model matrix, sketch error on the built-in zoo,
a 10,000-model matrix from stored sketches, and the Ray executor on a local cluster.

Run:  python benchmarks/scale.py [--models 1000] [--sketch-models 10000] [--budget-mb 1024] [--ray-models 16]
Default field configuration (N=128 references, S=4, full resolution); each figure is measured in this run. Synthetic
fields for the 1,000- and 10,000-model figures are random mixtures of the built-in zoo's real fields (same shape,
same statistics), because only 94 real models exist here.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from scipy.stats import spearmanr

from gifviz import FieldConfig
from gifviz.distance import SKETCH_DIM, FieldSketch, distance_matrix, sketch_distance_matrix, sketch_field
from gifviz.hub import Zoo
from gifviz.jobs import store_fields
from gifviz.refs import load_reference_folder
from gifviz.store import FieldStore

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"
CONFIG = FieldConfig()  # the default: S=4 on all 128 shipped references
N_REFS = 128


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def zoo_fields() -> tuple[list[str], list[torch.Tensor], Path]:
    zoo = Zoo.open(BUILTIN)
    refs = load_reference_folder(zoo.manifest.references, zoo.space, N_REFS)
    store = FieldStore()
    fields = store_fields(zoo, refs, CONFIG, list(zoo.ids), store)
    ids = list(zoo.ids)
    return (
        ids,
        [fields[i].values for i in ids],
        store.blob_path(store.key_for(zoo.load(ids[0]).digest, refs.digest(), CONFIG)),
    )


def synthetic(real: list[torch.Tensor], index: int) -> torch.Tensor:
    """A mixture of two real fields plus noise, seeded by ``index``."""
    rng = np.random.default_rng(index)
    a, b = rng.choice(len(real), size=2, replace=False)
    weight = float(rng.uniform(0.2, 0.8))
    noise = torch.from_numpy(rng.standard_normal(real[0].shape).astype(np.float32)) * float(real[a].std()) * 0.3
    return weight * real[a] + (1 - weight) * real[b] + noise


def streamed_child(folder: str, count: int, budget: int, field_bytes: int, queue) -> None:
    from gifviz.distance import streamed_distance_matrix

    load_file(f"{folder}/m0000.safetensors")  # the libraries loaded: the process's own footprint
    before = peak_rss_mb()
    started = time.perf_counter()
    labels = [f"m{i:04d}" for i in range(count)]
    streamed_distance_matrix(
        lambda label: load_file(f"{folder}/{label}.safetensors")["field"], labels, budget, field_bytes
    )
    queue.put((time.perf_counter() - started, peak_rss_mb(), before))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--sketch-models", type=int, default=10000)
    parser.add_argument("--budget-mb", type=int, default=1024)
    parser.add_argument("--ray-models", type=int, default=16)
    args = parser.parse_args()
    ids, real, blob = zoo_fields()
    field_bytes = real[0].numel() * 4
    print(f"default configuration: N={N_REFS}, S={CONFIG.steps}, D={real[0].shape[2]} -> field {tuple(real[0].shape)}")
    print(f"\n| what | figure |\n|---|---|")  # noqa: F541
    print(f"| bytes per stored field (float32 blob on disk) | {blob.stat().st_size / 2**20:.2f} MiB |")
    print(f"| bytes per stored field with --float16 | {blob.stat().st_size / 2**21:.2f} MiB |")

    # Sketch error against the exact matrix on the real zoo.
    exact = distance_matrix(real, ids).values
    upper = np.triu_indices(len(ids), 1)
    for dim in (2048, SKETCH_DIM, 32768):
        approx = sketch_distance_matrix([sketch_field(f, dim) for f in real], ids).values
        error = np.abs(approx - exact)[upper]
        rho = spearmanr(approx[upper], exact[upper]).statistic
        print(
            f"| sketch dim {dim}: error vs exact on the built-in zoo ({len(ids)} models) | max {error.max():.4f}, "
            f"RMS {np.sqrt((error**2).mean()):.4f}, Spearman {rho:.4f} |"
        )

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        for i in range(args.models):
            save_file({"field": synthetic(real, i)}, f"{folder}/m{i:04d}.safetensors")
        written = time.perf_counter() - started
        queue = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=streamed_child, args=(folder, args.models, args.budget_mb * 2**20, field_bytes, queue)
        )
        child.start()
        seconds, peak, before = queue.get()
        child.join()
        total = args.models * field_bytes / 2**30
        print(
            f"| streamed exact matrix, {args.models} models ({total:.1f} GiB of fields, budget {args.budget_mb} MiB)"
            f" | {seconds:.1f} s, peak RSS {peak:.0f} MiB, of which {before:.0f} MiB is the process before any field "
            f"(writing the fields took {written:.0f} s) |"
        )

    with tempfile.TemporaryDirectory() as folder:
        sketches = torch.stack(
            [sketch_field(synthetic(real, i % 997), SKETCH_DIM, 0).values for i in range(min(args.sketch_models, 1000))]
        )
        # Beyond 1,000 distinct synthetic sketches, add small noise: the timing depends on the count, not content.
        reps = -(-args.sketch_models // len(sketches))
        big = sketches.repeat(reps, 1)[: args.sketch_models]
        big = big + 0.001 * torch.randn(big.shape, generator=torch.Generator().manual_seed(1))
        zeros = torch.zeros(args.sketch_models, N_REFS * CONFIG.steps)
        path = f"{folder}/sketches.safetensors"
        save_file({"values": big.contiguous(), "vanishing": zeros}, path)
        started = time.perf_counter()
        stored = load_file(path)
        shape = tuple(real[0].shape)
        loaded = [FieldSketch(v, z, shape, 0) for v, z in zip(stored["values"], stored["vanishing"], strict=True)]
        matrix = sketch_distance_matrix(loaded, [f"m{i}" for i in range(args.sketch_models)])
        seconds = time.perf_counter() - started
        print(
            f"| {args.sketch_models:,}-model matrix from stored sketches (dim {SKETCH_DIM}, "
            f"{Path(path).stat().st_size / 2**30:.2f} GiB file) | {seconds:.1f} s "
            f"({matrix.values.nbytes / 2**30:.2f} GiB result) |"
        )
        del matrix, loaded, stored, big

    ray_benchmark(args.ray_models)


def ray_benchmark(count: int) -> None:
    """Ray executor on a local 2-CPU cluster against the local executor, on tiny fields (N=4, S=2) so that the
    per-model overhead dominates: tasks/s and seconds of overhead per model."""
    import ray

    zoo = Zoo.open(BUILTIN)
    ids = list(zoo.ids[:count])
    refs = load_reference_folder(zoo.manifest.references, zoo.space, 4)
    config = FieldConfig(steps=2)
    store_fields(zoo, refs, config, ids[:2], None)  # warm-up: first loads and allocations, not measured
    started = time.perf_counter()
    store_fields(zoo, refs, config, ids, None)
    local = time.perf_counter() - started
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        store_fields(zoo, refs, config, ids[:2], None, executor="ray")  # worker start-up, not measured
        started = time.perf_counter()
        store_fields(zoo, refs, config, ids, None, executor="ray")
        remote = time.perf_counter() - started
    finally:
        ray.shutdown()
    overhead = (remote - local) / count * 1000
    print(
        f"| Ray executor, local cluster (2 CPUs), {count} tiny fields | {count / remote:.1f} tasks/s against "
        f"{count / local:.1f} models/s locally; {overhead:.0f} ms more per model |"
    )


if __name__ == "__main__":
    main()
