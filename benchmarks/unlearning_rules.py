"""Unlearning verdicts on seeded unlearning stress zoos: is every verdict of ``gifviz verify-unlearning`` right on
zoos it was not tuned on, by each rule and method?

For each zoo (``gifviz zoo stress --family unlearning``), :func:`gifviz.audit.verify_unlearning` runs once per method
with every unlearned, retrained and unrelated model as a candidate and every retrained model as a reference (so a
retrained candidate is judged leave-one-out, against the other three); each rule of
:data:`gifviz.audit.names.UNLEARNING_RULES` then reads the same distances. Truth, by construction: an unlearned copy of
the original is ``close to the original``; a retrained model and an unrelated one are ``like retraining``.

Printed per method and rule: right verdicts per group (pooled and the worst zoo), the balanced accuracy (the mean of
the unlearned and the retrained groups' shares right) as mean and worst across zoos, and the unlearned caught per
shortcut. ``verdicts.csv`` holds every verdict; ``summary.txt`` the printout. Fields are cached in the store, so a
second run only reads them.

    python benchmarks/unlearning_rules.py /work/unlearning_zoos/seed-{1..8}/zoo.toml --out DIR
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd

from gifviz.audit.names import DEFAULT_ALPHA, DEFAULT_N_REFS, UNLEARNING_RULES
from gifviz.audit.unlearning import judge_distances, verify_unlearning
from gifviz.bench.unlearning import unlearning_set, verdict_shares
from gifviz.errors import GifvizError
from gifviz.hub import Zoo
from gifviz.outputs import write_files
from gifviz.store import FieldStore

DEFAULT_METHODS = ("modelgif", "modeldiff", "cka", "sac-m")
TRUTH = {"unlearned": "close to the original", "retrained": "like retraining", "unrelated": "like retraining"}


def _verdicts(manifest: Path, methods: list[str], n_refs: int, alpha: float, store: FieldStore) -> list[dict]:
    zoo = Zoo.open(manifest)
    roles = unlearning_set(zoo)
    groups = {m: g for g, members in roles.groups.items() for m in members}
    kinds = {s.id: s.extra.get("recipe", {}).get("kind", "") for s in zoo.specs}
    rows = []
    for method in methods:
        started = time.perf_counter()
        result = verify_unlearning(
            zoo,
            roles.reference,
            [m for g in ("unlearned", "retrained", "unrelated") for m in roles.groups[g]],
            list(roles.groups["retrained"]),
            method,
            store=store,
            n_refs=n_refs,
        )
        seconds = time.perf_counter() - started
        distances = {row.candidate: row.distance for row in result.rows}
        reasons = {row.candidate: row.note for row in result.rows if not math.isfinite(row.distance)}
        for rule in UNLEARNING_RULES:
            for row in judge_distances(distances, reasons, result.roles, rule, alpha):
                group = groups[row.candidate]
                rows.append(
                    {
                        "zoo": zoo.name,
                        "method": method,
                        "rule": rule,
                        "candidate": row.candidate,
                        "group": group,
                        "kind": kinds.get(row.candidate, ""),
                        "distance": row.distance,
                        "threshold": row.threshold,
                        "verdict": row.verdict,
                        "right": row.verdict == TRUTH[group],
                        "seconds": round(seconds, 1),
                    }
                )
        print(f"  {zoo.name}: {method} {seconds:.1f} s", file=sys.stderr)
    return rows


def _summary(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        per_zoo = verdict_shares(frame)  # a group no zoo holds is NaN, and so are its cells
        table = per_zoo.groupby(["method", "rule"]).agg(["mean", "min"])
        pooled = frame.groupby(["method", "rule", "group"]).right.agg(["sum", "count"])
        print("Right verdicts per group, share across zoos (mean / worst); balanced: mean of unlearned and retrained")
        cells = {}
        for (method, rule), values in table.iterrows():
            cells[(method, rule)] = {
                group: f"{values[(group, 'mean')]:.2f} / {values[(group, 'min')]:.2f}"
                for group in ("unlearned", "retrained", "unrelated", "balanced")
            }
        print(pd.DataFrame(cells).T.to_string())
        print("\nPooled right verdicts (right of all)")
        print(pooled.apply(lambda r: f"{int(r['sum'])} of {int(r['count'])}", axis=1).unstack("group").to_string())
        print("\nCriterion (unlearning round one): balanced accuracy, mean over zoos, unrounded")
        for (method, rule), value in per_zoo["balanced"].groupby(["method", "rule"]).mean().items():
            print(f"  {method}, {rule}: {value:.4f}")
        print("\nUnlearned models called 'close to the original', by shortcut (pooled over zoos)")
        unlearned = frame[frame.group == "unlearned"].copy()
        unlearned["shortcut"] = unlearned.candidate.str.replace(r"-\d+$", "", regex=True)
        print(unlearned.groupby(["method", "rule", "shortcut"]).right.mean().unstack("shortcut").round(2).to_string())
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifests", nargs="+", type=Path, help="unlearning stress zoos' zoo.toml")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated distance methods")
    parser.add_argument("--n-refs", type=int, default=DEFAULT_N_REFS)
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="false-positive rate of the prediction rule")
    parser.add_argument("--out", type=Path, required=True, help="folder for verdicts.csv and summary.txt")
    args = parser.parse_args(argv)
    if not 0 < args.alpha < 1:
        parser.error(f"--alpha must be between 0 and 1; got {args.alpha}")
    started = time.perf_counter()
    store = FieldStore()
    rows = []
    try:
        for manifest in args.manifests:
            rows += _verdicts(manifest, args.methods.split(","), args.n_refs, args.alpha, store)
    except GifvizError as error:
        print(f"unlearning_rules: error: {error}", file=sys.stderr)
        return 2
    frame = pd.DataFrame(rows)
    summary = _summary(frame)
    summary += f"\n{len(args.manifests)} zoos, {time.perf_counter() - started:.0f} s\n"
    print(summary)
    write_files({args.out / "verdicts.csv": frame.to_csv(index=False), args.out / "summary.txt": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
