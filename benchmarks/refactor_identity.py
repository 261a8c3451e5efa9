"""Refactoring guard: the distance and bench CSVs of the built-in zoo, compared byte for byte before and after a move.

Run:  python benchmarks/refactor_identity.py --out /tmp/identity_before     (on the code before the change)
      python benchmarks/refactor_identity.py --out /tmp/identity_after      (on the code after it)
      python benchmarks/refactor_identity.py --compare /tmp/identity_before /tmp/identity_after

``--out DIR`` writes, with a fresh ``GIFVIZ_HOME`` in a temporary folder (nothing is served from an earlier run's
store):
- ``distances_<metric>.csv`` for cosine, euclidean and cosine_max_step: ``gifviz distances`` on the lineage family of
  the built-in zoo, N=32 references, S=4;
- ``distances_sketch.csv``: ``gifviz distances --sketch`` (CountSketch of the default dimension) of the same models;
- ``distances_streamed.csv``: the streamed exact matrix of the same stored fields, five models per block. No command
  reaches it (the library's ``streamed_distance_matrix`` is its entry point), so a child process calls it;
- ``bench/{ipp,unlearning}{,_sweep,_details}.csv``: ``gifviz bench`` with ``--methods modelgif,softmax --n 16
  --sweep 8,16 --resamples 20``.
Each CSV of ``gifviz distances`` has its provenance sidecar ``<csv>.json``.

``--compare A B`` prints one line per file: ``identical`` or ``DIFFERENT``. CSVs are compared as text, except the
bench tables' ``seconds`` column (wall-clock time, different in every run); JSON sidecars are compared as data without
their ``created`` date. Exit status 1 when any file differs or is missing on one side.

Every step runs ``python -m gifviz`` (or a child Python) in ``--tree`` (default: this checkout), so a copy of the code
before a change can be measured with this same script. About 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("cosine", "euclidean", "cosine_max_step")
N_REFS, STEPS = 32, 4
BENCH = ("--methods", "modelgif,softmax", "--n", "16", "--sweep", "8,16", "--resamples", "20")
MODELS_PER_BLOCK = 5  # the lineage family has 72 models: 15 blocks, the last one short
VOLATILE_COLUMNS = ("seconds",)  # bench tables: wall-clock time of each method

# The streamed matrix has no command: this child reads the fields that `gifviz distances` stored and calls it.
STREAMED = """
import csv, sys
from gifviz.store import FieldStore
try:
    from gifviz.distance import streamed_distance_matrix
except ImportError:  # the flat layout before the gifviz/distance/ package
    from gifviz.streamed import streamed_distance_matrix

home, labels_from, out, per_block = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(labels_from, newline="") as handle:
    labels = next(csv.reader(handle))[1:]
store = FieldStore(home)
keys = {}
for record in store.index.all():
    if record.model_id in keys:
        raise SystemExit(f"the store holds two fields of {record.model_id}; expected one configuration")
    keys[record.model_id] = record.key
first = store.get(keys[labels[0]])
field_bytes = first.values.numel() * first.values.element_size()
matrix = streamed_distance_matrix(lambda label: store.get(keys[label]), labels, 2 * per_block * field_bytes,
                                  field_bytes)
matrix.to_csv(out)
"""


def lineage_ids(zoo: Path) -> list[str]:
    """The ids of the zoo's lineage family, in manifest order."""
    manifest = tomllib.loads(zoo.read_text())
    return [model["id"] for model in manifest["models"] if model.get("family") == "lineage"]


def run(step: str, command: list[str], tree: Path, home: Path) -> None:
    """Run ``command`` in ``tree`` with the store at ``home``; stop with its output when it fails."""
    env = {**os.environ, "GIFVIZ_HOME": str(home), "PYTHONPATH": str(tree)}
    env.pop("GIFVIZ_CACHE_MAX_GB", None)  # an eviction mid-run would make the streamed child miss a field
    started = time.perf_counter()
    result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{step} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    print(f"{step}: {time.perf_counter() - started:.1f} s", flush=True)


def write_outputs(out: Path, tree: Path, zoo: Path) -> None:
    """Every CSV of the module docstring, into ``out`` (which must not hold files yet)."""
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty; choose a new folder so that no earlier file is compared")
    (out / "bench").mkdir(parents=True, exist_ok=True)
    gifviz = [sys.executable, "-m", "gifviz"]
    sizes = ["--n-refs", str(N_REFS), "--steps", str(STEPS), "--quiet"]
    models = ["--models", ",".join(lineage_ids(zoo))]
    with tempfile.TemporaryDirectory(prefix="gifviz-identity-") as home:
        for metric in METRICS:
            target = out / f"distances_{metric}.csv"
            run(
                f"distances {metric}",
                [*gifviz, "distances", str(zoo), "--out", str(target), *models, *sizes, "--metric", metric],
                tree,
                Path(home),
            )
        run(
            "distances --sketch",
            [*gifviz, "distances", str(zoo), "--out", str(out / "distances_sketch.csv"), *models, *sizes, "--sketch"],
            tree,
            Path(home),
        )
        # Before the bench fills the store with fields of its own configuration: one field per model here.
        run(
            "streamed",
            [
                sys.executable,
                "-c",
                STREAMED,
                home,
                str(out / "distances_cosine.csv"),
                str(out / "distances_streamed.csv"),
                str(MODELS_PER_BLOCK),
            ],
            tree,
            Path(home),
        )
        for testbed in ("ipp", "unlearning"):
            run(
                f"bench {testbed}",
                [*gifviz, "bench", testbed, str(zoo), *BENCH, "--out", str(out / "bench"), "--quiet"],
                tree,
                Path(home),
            )


def _csv_text(path: Path) -> str:
    """The file's text, without the columns of :data:`VOLATILE_COLUMNS` (rewritten the way it was read)."""
    text = path.read_text()
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(name in VOLATILE_COLUMNS for name in rows[0]):
        return text
    keep = [i for i, name in enumerate(rows[0]) if name not in VOLATILE_COLUMNS]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[row[i] for i in keep] for row in rows])
    return buffer.getvalue()


def _without_dates(value: object) -> object:
    if isinstance(value, dict):
        return {key: _without_dates(item) for key, item in value.items() if key != "created"}
    if isinstance(value, list):
        return [_without_dates(item) for item in value]
    return value


def same(a: Path, b: Path) -> bool:
    if a.suffix == ".csv":
        return _csv_text(a) == _csv_text(b)
    if a.suffix == ".json":
        return _without_dates(json.loads(a.read_text())) == _without_dates(json.loads(b.read_text()))
    return a.read_bytes() == b.read_bytes()


def compare(first: Path, second: Path) -> int:
    """Print one line per file of either folder; 0 when every file is identical, else 1."""
    names = sorted({p.relative_to(folder) for folder in (first, second) for p in folder.rglob("*") if p.is_file()})
    if not names:
        sys.exit(f"neither {first} nor {second} holds files; run --out first")
    failures = 0
    for name in names:
        a, b = first / name, second / name
        if not (a.exists() and b.exists()):
            verdict = f"DIFFERENT (only in {first if a.exists() else second})"
        else:
            verdict = "identical" if same(a, b) else "DIFFERENT"
        failures += verdict != "identical"
        print(f"{name}: {verdict}")
    print(f"{len(names) - failures} of {len(names)} files identical")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", type=Path, metavar="DIR", help="write the CSVs of the code in --tree here")
    action.add_argument("--compare", type=Path, nargs=2, metavar=("DIR_A", "DIR_B"), help="compare two --out folders")
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree whose gifviz runs (default: this one)")
    parser.add_argument(
        "--zoo",
        type=Path,
        default=ROOT / "assets" / "zoo" / "builtin" / "zoo.toml",
        help="built-in zoo manifest (its path goes into the provenance: use the same one for runs you compare)",
    )
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    started = time.perf_counter()
    write_outputs(args.out.resolve(), args.tree.resolve(), args.zoo.resolve())
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
