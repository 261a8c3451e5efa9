"""Copy stress zoos built before a kind of model was added to the generator, with the models of that kind added.

A stress zoo is never changed after a method was scored on it, so a new kind (``transferlong-*``:
``benchmarks/results/transfer-long/DECLARED.md``) reaches the zoos already seen only through copies. For each zoo,
this copies its folder to ``--out/<folder>``, trains the recipes of the zoo's seed and scale that the current
generator has and the zoo lacks (only the ids starting with ``--only``, when given) with the generator's own code
(:func:`gifviz.builtin_zoo.stress.train_into`; parents are the zoo's TorchScript files), and appends their entries to
the copy's manifest. The copy's ``checks.csv`` keeps the zoo's rows only. A copy already there is reused, so nothing is
trained twice. Training runs on one thread, as a build does, so the added models are those a fresh build of the
zoo's seed would train (a build is exact across machines on one thread).

    python benchmarks/add_recipes.py /work/stress_zoos/fresh-seed-{65..72}/zoo.toml --only transferlong- \
        --out /work/transfer_long_zoos
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

import tomli_w
import torch

from gifviz.builtin_zoo.stress import train_into
from gifviz.builtin_zoo.stress_architectures import new_network
from gifviz.builtin_zoo.stress_data import digit_splits
from gifviz.builtin_zoo.stress_plan import STRESS_SCALES, stress_plan
from gifviz.builtin_zoo.stress_train import StressData
from gifviz.hub.files import load_torchscript


class AddRecipesError(Exception):
    """A zoo that cannot be extended, or an added model below its threshold (one line)."""


def _eager(folder: Path, entry: dict) -> torch.nn.Module:
    """The zoo's model of ``entry`` as an eager module (a transfer model swaps its parent's head, which a ScriptModule
    refuses): the generator's architecture with the TorchScript file's weights."""
    script = load_torchscript(folder / entry["file"], entry["id"])
    module = new_network(entry["arch"], entry["num_classes"])
    module.load_state_dict(script.state_dict())
    return module.eval()


def copy_with_new_recipes(manifest: Path, out: Path, only: str) -> Path:
    """The manifest of the copy of ``manifest``'s zoo under ``out`` with the missing recipes added; reused if there."""
    target = out / manifest.parent.name
    if (target / "zoo.toml").exists():
        have = {entry["id"] for entry in tomllib.loads((target / "zoo.toml").read_text())["models"]}
        if not any(i.startswith(only) for i in have):
            raise AddRecipesError(f"{target} exists without any model whose id starts with {only!r}; delete it first")
        print(f"  {target.name}: reusing the copy")
        return target / "zoo.toml"
    if target.exists():
        raise AddRecipesError(f"{target} exists without a zoo.toml; give another --out or delete it")
    started = time.perf_counter()
    try:
        text = tomllib.loads(manifest.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AddRecipesError(f"cannot read {manifest}: {error}") from None
    settings = text.get("data", {})
    if settings.get("generator") != "gifviz-stress-digits" or settings.get("scale") not in STRESS_SCALES:
        raise AddRecipesError(f"{manifest} is not a stress zoo of a known scale (gifviz zoo stress builds one)")
    scale = STRESS_SCALES[settings["scale"]]
    if scale.data_fraction < 1.0:
        raise AddRecipesError(f"{manifest} is a {scale.name} zoo; only full-data zoos can be extended")
    seed = settings["seed"]
    have = {entry["id"]: entry for entry in text["models"]}
    missing = [r for r in stress_plan(seed, scale) if r.id not in have and r.id.startswith(only)]
    if not missing:
        raise AddRecipesError(f"{manifest} lacks no recipe whose id starts with {only!r}; nothing to add")
    data = StressData(seed, digit_splits(seed), settings["natural_pool"])
    staging = out / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(manifest.parent, staging)
    parents: dict[str, torch.nn.Module] = {}
    for recipe in missing:  # parents come before children in a plan
        if recipe.parent and recipe.parent not in parents:
            parents[recipe.parent] = _eager(manifest.parent, have[recipe.parent])
        trained = train_into(staging, recipe, parents, data)
        parents[recipe.id] = trained.module  # a parent added in this run
        if trained.accuracy < recipe.min_accuracy:
            shutil.rmtree(staging)
            raise AddRecipesError(
                f"{recipe.id} reached {trained.accuracy:.3f} < {recipe.min_accuracy}; nothing written"
            )
        text["models"].append(trained.entry)
    text["description"] += f" Copy with {len(missing)} models added later ({only or 'every missing'}*; add_recipes.py)."
    (staging / "zoo.toml").write_text(tomli_w.dumps(text))
    os.replace(staging, target)
    print(f"  {target.name}: {len(missing)} models added in {time.perf_counter() - started:.0f} s")
    return target / "zoo.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoos", nargs="+", metavar="ZOO.toml", help="stress zoos (gifviz zoo stress)")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the copies go")
    parser.add_argument("--only", default="", help="add only the recipes whose id starts with this")
    args = parser.parse_args(argv)
    # One thread, as build_stress_zoo trains: the rounding of a sum split over two threads differs, and training
    # grows it (a source retrained on two threads ends up to 0.08 away in a weight).
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for manifest in args.zoos:
            print(copy_with_new_recipes(Path(manifest), out, args.only))
    except AddRecipesError as error:
        print(f"add_recipes: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
