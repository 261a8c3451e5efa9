"""How long the ``gifviz`` command takes to start, against importing torch, measured side by side in one run.

Run:  python benchmarks/cli_startup.py [--runs 3] [--manifest ZOO.toml] [--distances-models 45]

Each figure is the median wall time of ``--runs`` whole processes (interpreter start included). The help and version
commands must not import torch, so they should cost a small fraction of ``python -c "import torch"``; ``hub ls``
loads every model of the manifest (default: the built-in zoo), so it pays for torch and the models.

The second part times ``gifviz distances`` twice on a zoo of small 1x16x16 TorchScript classifiers (N = 64 references
from scikit-learn's digits, S = 50): first with an empty field store, then again with every field stored. The second
run costs what startup, loading the models and reading the store cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"


def gifviz_command() -> list[str]:
    """This environment's console script (what users run, without a version manager's shim in front), else
    ``python -m gifviz``."""
    beside = Path(sys.executable).parent / "gifviz"
    if beside.is_file():
        return [str(beside)]
    script = shutil.which("gifviz")
    return [script] if script else [sys.executable, "-m", "gifviz"]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="processes per figure; the median is shown")
    parser.add_argument("--manifest", type=Path, default=BUILTIN, help="zoo for the 'hub ls' row")
    parser.add_argument("--distances-models", type=int, default=45, help="zoo size of the cached-rerun part (0: skip)")
    args = parser.parse_args()
    gifviz = gifviz_command()
    torch_seconds = median_seconds([sys.executable, "-c", "import torch"], args.runs)
    rows = [
        ("gifviz --help", [*gifviz, "--help"]),
        ("gifviz --version", [*gifviz, "--version"]),
        ("gifviz hub ls --help", [*gifviz, "hub", "ls", "--help"]),
        (f"gifviz hub ls {args.manifest.name}", [*gifviz, "hub", "ls", str(args.manifest)]),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"gifviz run as: {' '.join(gifviz)}; median of {args.runs} processes; load average {load:.2f}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'command':<32} {'seconds':>8} {'x import torch':>15}")
    print(f"{'python -c ' + repr('import torch'):<32} {torch_seconds:>8.3f} {1.0:>15.2f}")
    for name, command in rows:
        seconds = median_seconds(command, args.runs)
        print(f"{name:<32} {seconds:>8.3f} {seconds / torch_seconds:>15.2f}")
    if args.distances_models:
        print()
        time_cached_distances(gifviz, args.distances_models)


def write_digit_zoo(root: Path, models: int, references: int) -> Path:
    """``models`` small CNNs of three widths (random weights; the field's cost does not depend on training) as
    TorchScript files, and ``references`` 16x16 grayscale digits as PNGs; returns the manifest."""
    import warnings

    import numpy as np
    import torch
    from PIL import Image
    from sklearn.datasets import load_digits
    from torch import nn

    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit's deprecation notice: TorchScript is the
    # format users' zoos hold, so it is what this benchmark writes
    (root / "models").mkdir(parents=True)
    (root / "refs").mkdir()
    for i, image in enumerate(load_digits().images[:references]):
        pixels = (image / 16 * 255).astype(np.uint8)
        Image.fromarray(pixels).resize((16, 16), Image.Resampling.BILINEAR).save(root / "refs" / f"digit_{i:03d}.png")
    lines = ['name = "digits-16"', 'references = "refs"', "[input]", "channels = 1", "size = [16, 16]"]
    for k in range(models):
        torch.manual_seed(k)
        width = (8, 16, 24)[k % 3]
        model = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(width * 16, 10),
        ).eval()
        torch.jit.save(torch.jit.script(model), str(root / "models" / f"m{k:02d}.pt"))
        lines += ["[[models]]", f'id = "m{k:02d}"', f'file = "models/m{k:02d}.pt"', 'task = "digit"']
    manifest = root / "zoo.toml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def time_cached_distances(gifviz: list[str], models: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        manifest = write_digit_zoo(root / "zoo", models, references=64)
        env = {**os.environ, "GIFVIZ_HOME": str(root / "store")}
        command = [*gifviz, "distances", str(manifest), "--steps", "50", "--quiet"]
        seconds = []
        for run in ("first", "second"):
            started = time.perf_counter()
            result = subprocess.run(
                [*command, "--out", str(root / f"{run}.csv")], capture_output=True, text=True, env=env
            )
            seconds.append(time.perf_counter() - started)
            if result.returncode != 0:
                raise SystemExit(f"gifviz distances failed: {result.stderr.strip()[-500:]}")
            print(
                f"gifviz distances, {run} run ({models} models, N=64, S=50): {seconds[-1]:8.2f} s  "
                f"[{result.stdout.strip().splitlines()[-1]}]"
            )
        same = (root / "first.csv").read_text() == (root / "second.csv").read_text()
        print(f"second run {seconds[0] / seconds[1]:.1f}x faster than the first; identical CSV: {same}")


if __name__ == "__main__":
    main()
