"""How long the ``gifviz`` command takes to start, against importing torch, measured side by side in one run.

Run:  python benchmarks/cli_startup.py [--runs 3] [--manifest ZOO.toml]

Each figure is the median wall time of ``--runs`` whole processes (interpreter start included). The help and version
commands must not import torch, so they should cost a small fraction of ``python -c "import torch"``; ``hub ls``
loads every model of the manifest (default: the built-in zoo), so it pays for torch and the models.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
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
    print(f"gifviz run as: {' '.join(gifviz)}; median of {args.runs} processes; load average {load:.2f}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'command':<32} {'seconds':>8} {'x import torch':>15}")
    print(f"{'python -c ' + repr('import torch'):<32} {torch_seconds:>8.3f} {1.0:>15.2f}")
    for name, command in rows:
        seconds = median_seconds(command, args.runs)
        print(f"{name:<32} {seconds:>8.3f} {seconds / torch_seconds:>15.2f}")


if __name__ == "__main__":
    main()
