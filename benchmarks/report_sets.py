"""Several report sets of one audit read together: per category, the mean and worst AUC across every zoo, how many
zoos reach the goal, and the innocent readings called ``derived``.

Each folder is one ``benchmarks/audit_selection.py --out`` (its ``selection.csv``, ``verdicts_by_model.csv``); the
column read is the shipped audit's, ``fusion:by-attack`` (``--column`` for another row of the same runs). A zoo
scored in two folders is refused: pooled twice it would count twice.

    python benchmarks/report_sets.py benchmarks/results/audit-seeds-{217-224,225-232,233-240,241-248}

Prints one line per category (the brief's five, then the label-only thieves split by what they queried) and the
innocent readings ``derived`` per folder and in all. ``--table`` prints instead the README's markdown table: the
shipped audit and each method alone, ``mean / worst`` per category over every zoo; ``--per-set`` one row per folder,
each category's worst zoo (the goal is read per set).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

SHIPPED_COLUMN = "fusion:by-attack"
SHIPPED_FUSION = "by-attack"
GOAL = 0.95
CATEGORIES = (
    "finetune",
    "prune",
    "transfer",
    "extract-prob",
    "extract-label",
    "extract-label [natural]",
    "extract-label [digits:attacker]",
)
INNOCENT_GROUPS = ("innocent, same task", "innocent, other task")  # as verdicts_by_model.csv names them


def pooled_aucs(folders: Sequence[Path], column: str = SHIPPED_COLUMN) -> pd.DataFrame:
    """Per category: ``zoos``, ``mean``, ``worst``, ``worst zoo`` and ``at goal`` (zoos with AUC >= :data:`GOAL`) over
    every zoo of ``folders``, for one ``column`` of their ``selection.csv``. Raises ``ValueError`` naming a zoo that
    two folders score, or a column none of them has."""
    frames = []
    seen: dict[str, Path] = {}
    for folder in folders:
        frame = pd.read_csv(folder / "selection.csv")
        for zoo in frame["zoo"].unique():
            if zoo in seen:
                raise ValueError(f"{zoo} is scored in both {seen[zoo]} and {folder}; pool each zoo once")
            seen[zoo] = folder
        frames.append(frame[frame["column"] == column])
    results = pd.concat(frames, ignore_index=True)
    if results.empty:
        raise ValueError(f"no folder has the column {column!r}")
    rows = {}
    for category in CATEGORIES:
        cells = results[results["category"] == category].dropna(subset=["auc"])
        if cells.empty:
            continue
        worst = cells.loc[cells["auc"].idxmin()]
        rows[category] = {
            "zoos": len(cells),
            "mean": cells["auc"].mean(),
            "worst": worst["auc"],
            "worst zoo": worst["zoo"],
            "at goal": int((cells["auc"] >= GOAL - 1e-12).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def method_table(folders: Sequence[Path], column: str = SHIPPED_COLUMN) -> str:
    """A markdown table: one row for ``column`` (named after its fusion), then one per single method of the runs
    (every column that is neither a fusion nor a ``combined`` variant, and has an AUC somewhere); cells ``mean /
    worst`` per category over every zoo of ``folders`` (``n/a`` where a method reads no model of the category)."""
    results = pd.concat([pd.read_csv(folder / "selection.csv") for folder in folders], ignore_index=True)
    columns = [c for c in dict.fromkeys(results["column"]) if not c.startswith(("fusion:", "combined"))]
    zoos = results["zoo"].nunique()
    lines = [
        f"| AUC, mean / worst over {zoos} zoos | {' | '.join(CATEGORIES)} |",
        "|---" * (len(CATEGORIES) + 1) + "|",
    ]
    for name in [column, *columns]:
        frame = results[results["column"] == name]
        cells = []
        for category in CATEGORIES:
            aucs = frame[frame["category"] == category]["auc"].dropna()
            cells.append(f"{aucs.mean():.2f} / {aucs.min():.2f}" if len(aucs) else "n/a")
        if all(cell == "n/a" for cell in cells):
            continue  # a method the runs left out of every reading (--without first-layer)
        label = f"**combined ({column.removeprefix('fusion:')})**" if name == column else name
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def per_set_table(folders: Sequence[Path], column: str = SHIPPED_COLUMN) -> str:
    """A markdown table, one row per folder (report set): each category's worst AUC across its zoos (the goal is read
    per set: 0.95 or more in every zoo) and its innocent readings called ``derived``."""
    lines = [
        f"| report set | {' | '.join(CATEGORIES)} | innocent readings derived |",
        "|---" * (len(CATEGORIES) + 2) + "|",
    ]
    for folder in folders:
        table = pooled_aucs([folder], column)
        worst = [f"{table.loc[c, 'worst']:.3f}" if c in table.index else "n/a" for c in CATEGORIES]
        derived, readings = innocent_derived(folder)
        lines.append(f"| {folder.name} | {' | '.join(worst)} | {derived} of {readings} |")
    return "\n".join(lines)


def innocent_derived(folder: Path, fusion: str = SHIPPED_FUSION) -> tuple[int, int]:
    """``(derived, readings)``: the innocent models' readings called ``derived`` by ``fusion`` in one folder's
    ``verdicts_by_model.csv``."""
    verdicts = pd.read_csv(folder / "verdicts_by_model.csv")
    innocent = verdicts[(verdicts["fusion"] == fusion) & verdicts["group"].isin(INNOCENT_GROUPS)]
    if innocent.empty:
        raise ValueError(f"{folder / 'verdicts_by_model.csv'} has no innocent readings of the fusion {fusion!r}")
    return int((innocent["verdict"] == "derived").sum()), len(innocent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="audit_selection.py --out folders")
    parser.add_argument("--column", default=SHIPPED_COLUMN, help=f"selection.csv's column (default {SHIPPED_COLUMN})")
    parser.add_argument("--fusion", default=SHIPPED_FUSION, help="verdicts' fusion for the innocent readings")
    parser.add_argument("--table", action="store_true", help="print the markdown table of the audit and each method")
    parser.add_argument("--per-set", action="store_true", help="print the markdown table of each set's worst cases")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not (f / "selection.csv").is_file()]
    if missing:
        print(
            f"error: no selection.csv in {', '.join(missing)}; pass audit_selection.py --out folders", file=sys.stderr
        )
        return 2
    try:
        table = pooled_aucs(args.folders, args.column)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.table:
        print(method_table(args.folders, args.column))
        return 0
    if args.per_set:
        try:
            print(per_set_table(args.folders, args.column))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    print(f"{args.column}, AUC over {int(table['zoos'].max())} zoos: mean / worst (zoo), zoos at {GOAL} or more")
    for category, row in table.iterrows():
        print(
            f"  {category:32s} {row['mean']:.3f} / {row['worst']:.3f} ({row['worst zoo']}), "
            f"{row['at goal']} of {row['zoos']}"
        )
    total = [0, 0]
    for folder in args.folders:
        try:
            derived, readings = innocent_derived(folder, args.fusion)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        total[0] += derived
        total[1] += readings
        print(f"  innocent readings derived, {folder.name}: {derived} of {readings}")
    print(f"  innocent readings derived, in all: {total[0]} of {total[1]} ({total[0] / max(total[1], 1):.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
