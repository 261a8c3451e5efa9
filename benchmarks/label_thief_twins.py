"""Digit label thieves against their true-label twins: can any audit method tell them apart on these stress zoos?

A label-only thief that queries the attacker's digits learns the source's top label, which is the digit's true class
on all but a few of its queries (the sources mislabel 0.7-2.4% of the attacker's digits). Its *twin*
(:func:`gifviz.builtin_zoo.stress_train.label_thief_twin`) is the same recipe, batch for batch, trained on the true
classes: it never saw the source, so it is an independent model by construction. Whatever tells a thief from its
twin is the trace the source's answers left.

For each zoo, every such thief is trained twice here, on one thread as a build trains: again with the source's
answers (``rebuilt``; the source's TorchScript file answers, which gives the zoo's own thief) and as its twin, so the
two differ in nothing but the answers. The zoo is copied into
``--zoos-out`` with both added (relations ``label-rebuilt`` and ``label-twin``; the zoo itself is never changed; a copy
already there is reused, so nothing is trained twice), and the shipped audit runs per source with its usual suspects
and the new ones; the independents, so every calibration, are the usual ones.

Printed: per method and for ``combined``, the AUC pooled over a zoo's two sources (mean / worst / best across zoos)
of rebuilt thieves against twins (the control), of the zoo's thieves, the rebuilt ones and the twins against the
models a defender must not accuse (the same-task independents, left out one at a time as the audit reads them, and
the other source); on all pairs together, the AUC of rebuilt
thieves against twins and a paired sign test of each against its own twin; and the audit's verdicts per group.

    python benchmarks/label_thief_twins.py /work/stress_zoos/fresh-seed-{65..72}/zoo.toml \
        --zoos-out /work/twin_zoos --out benchmarks/results/label-thief-twins
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import tomli_w
import torch

from gifviz.audit.names import DEFAULT_ALPHA, DEFAULT_FUSION, DEFAULT_METHODS
from gifviz.audit.provenance import default_references, versions
from gifviz.audit.run_audit import COMBINED, audit
from gifviz.bench import ipp
from gifviz.builtin_zoo.stress import scripted_bytes
from gifviz.builtin_zoo.stress_data import digit_splits
from gifviz.builtin_zoo.stress_plan import STRESS_SCALES, stress_plan
from gifviz.builtin_zoo.stress_train import StressData, label_thief_twin, make_stress_model
from gifviz.builtin_zoo.training import predict
from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.hub import Zoo
from gifviz.hub.digest import model_digest
from gifviz.hub.files import load_torchscript
from gifviz.outputs import write_files
from gifviz.store import FieldStore

REBUILT, TWIN = "label-rebuilt", "label-twin"
GROUPS = ("thief", "rebuilt", "twin", "independent")
# (name, positives, negatives): the pairs of groups each AUC reads, the control first.
COMPARISONS = (
    ("rebuilt vs twin", "rebuilt", "twin"),
    ("thief vs independent", "thief", "independent"),
    ("rebuilt vs independent", "rebuilt", "independent"),
    ("twin vs independent", "twin", "independent"),
)


def _entry(thief: dict, relation: str, module: torch.nn.Module, accuracy: float, extra: dict) -> dict:
    model_id = f"{'twin' if relation == TWIN else 'rebuilt'}-{thief['id']}"
    entry = {key: thief[key] for key in ("arch", "num_classes", "task", "classes", "family", "seed")}
    entry.update(
        id=model_id,
        file=f"models/{model_id}.pt",
        relation=relation,
        accuracy=round(accuracy, 4),
        digest=model_digest(module),
        tags={"relation": relation, "arch": thief["arch"], "thief": thief["id"], "source": thief["parent"], **extra},
    )
    return entry


def twin_zoo(manifest: Path, zoos_out: Path) -> Path:
    """The manifest of ``manifest``'s zoo copied under ``zoos_out`` with every digit label thief rebuilt here and
    its twin added; an existing copy is reused."""
    target = zoos_out / manifest.parent.name
    if (target / "zoo.toml").exists():
        print(f"  {target.name}: reusing the copy with twins")
        return target / "zoo.toml"
    started = time.perf_counter()
    text = tomllib.loads(manifest.read_text())
    seed, scale = text["data"]["seed"], STRESS_SCALES[text["data"]["scale"]]
    data = StressData(seed, digit_splits(seed), text["data"]["natural_pool"])
    entries = {entry["id"]: entry for entry in text["models"]}
    thieves = [
        r
        for r in stress_plan(seed, scale)
        if r.kind == "extract_label" and r.params["data"].startswith("digits:") and r.id in entries
    ]
    staging = zoos_out / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(manifest.parent, staging)
    test = data.splits["test"]
    sources = {r.parent: load_torchscript(manifest.parent / entries[r.parent]["file"], r.parent) for r in thieves}
    for recipe in thieves:
        thief, victim = entries[recipe.id], sources[recipe.parent]
        pool = data.pool(recipe.params["data"], recipe.seed)[1]
        count = max(1, round(recipe.params["budget"] * len(pool)))
        with torch.no_grad():
            mislabelled = int((predict(victim, pool.images[:count]).argmax(1) != pool.labels["digit"][:count]).sum())
        extra = {"query_images": count, "source_mislabelled": mislabelled}
        rebuilt, _, _ = make_stress_model(recipe, {recipe.parent: victim}, data)
        twin = label_thief_twin(recipe, data)
        for relation, module in ((REBUILT, rebuilt), (TWIN, twin)):
            accuracy = float((predict(module, test.images).argmax(1) == test.labels["digit"]).float().mean())
            entry = _entry(thief, relation, module, accuracy, extra)
            (staging / entry["file"]).write_bytes(scripted_bytes(module))
            text["models"].append(entry)
    text["description"] += " With each digit label thief rebuilt and its true-label twin (label_thief_twins.py)."
    (staging / "zoo.toml").write_text(tomli_w.dumps(text))
    os.replace(staging, target)
    print(f"  {target.name}: {len(thieves)} thieves rebuilt and twinned in {time.perf_counter() - started:.0f} s")
    return target / "zoo.toml"


def scores(manifest: Path, n_refs: int, field: FieldConfig, store: FieldStore | None) -> pd.DataFrame:
    """One row per (source, model, column): its group, score and (combined only) verdict."""
    zoo = Zoo.open(manifest)
    cases = {(c.source, c.category): c for c in ipp.ipp_cases(zoo)}
    references, pool = default_references(zoo, n_refs, store)
    rows = []
    for source in sorted({source for source, _ in cases}):
        label_case = cases[(source, "extract-label")]
        thieves = [m for m in label_case.positives if zoo.spec(m).tags.get("data", "").startswith("digits:")]
        added = [s.id for s in zoo.specs if s.tags.get("thief") in thieves]
        own = sorted({m for (s, _), c in cases.items() if s == source for m in (*c.positives, *c.negatives)})
        started = time.perf_counter()
        result = audit(zoo, source, [*own, *added], None, DEFAULT_METHODS, references, field, store,
                       labelled_pool=pool, n_refs=n_refs)  # fmt: skip
        print(
            f"  {zoo.name}: audit of {source} ({len(own) + len(added)} suspects) {time.perf_counter() - started:.0f} s"
        )
        groups = {m: "thief" for m in thieves} | {m: "independent" for m in label_case.negatives}
        groups |= {m: ("twin" if zoo.spec(m).relation == TWIN else "rebuilt") for m in added}
        for model_id, group in groups.items():
            for column in (*DEFAULT_METHODS, COMBINED):
                row = result.row(model_id, column)
                rows.append(
                    {
                        "zoo": zoo.name,
                        "source": source,
                        "model": model_id,
                        "group": group,
                        "thief": zoo.spec(model_id).tags.get("thief", model_id if group == "thief" else ""),
                        "column": column,
                        "score": row.score,
                        "verdict": row.verdict if column == COMBINED else "",
                    }
                )
    return pd.DataFrame(rows)


def auc_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per zoo, column and comparison, the AUC pooled over the zoo's sources."""
    rows = []
    for (zoo, column), frame in table.groupby(["zoo", "column"]):
        for name, positive, negative in COMPARISONS:
            chosen = frame[frame.group.isin((positive, negative))]
            auc = ipp.auc((chosen.group == positive).astype(int).tolist(), chosen.score.tolist())
            rows.append({"zoo": zoo, "column": column, "comparison": name, "auc": auc})
    return pd.DataFrame(rows)


def pooled_control(table: pd.DataFrame) -> pd.DataFrame:
    """Per column, over every zoo and source: the AUC of rebuilt thieves against twins, and the paired sign test of
    each rebuilt thief against its own twin (ties dropped: share of the others where it scores higher, two-sided
    binomial p)."""
    from scipy.stats import binomtest

    rows = []
    for column, frame in table.groupby("column"):
        chosen = frame[frame.group.isin(("rebuilt", "twin"))]
        auc = ipp.auc((chosen.group == "rebuilt").astype(int).tolist(), chosen.score.tolist())
        pairs = chosen.pivot_table(index=["zoo", "thief"], columns="group", values="score")
        # A sign test drops ties (a method that scores both at its floor says nothing about the pair).
        wins, ties = int((pairs.rebuilt > pairs.twin).sum()), int((pairs.rebuilt == pairs.twin).sum())
        untied = len(pairs) - ties
        rows.append(
            {
                "column": column,
                "auc": auc,
                "pairs": len(pairs),
                "ties": ties,
                "rebuilt_higher": wins / untied if untied else math.nan,
                "sign_p": binomtest(wins, untied).pvalue if untied else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index("column")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoos", nargs="+", metavar="ZOO.toml", help="stress zoos (gifviz zoo stress)")
    parser.add_argument("--zoos-out", required=True, metavar="DIR", help="where the copies with twins go")
    parser.add_argument("--out", metavar="DIR", help="write twins.csv, aucs.csv, control.csv and twins.json here")
    parser.add_argument("--n-refs", type=int, default=128, help="references per audit")
    parser.add_argument("--steps", type=int, default=10, help="ModelGiF path steps")
    args = parser.parse_args(argv)
    # One thread, as build_stress_zoo trains, so a thief rebuilt here is the zoo's own (on two threads it is not:
    # the rounding of a split sum differs, and training grows it).
    torch.set_num_threads(1)
    store, field = FieldStore(), FieldConfig(steps=args.steps)
    zoos_out = Path(args.zoos_out)
    zoos_out.mkdir(parents=True, exist_ok=True)
    try:
        table = pd.concat([scores(twin_zoo(Path(m), zoos_out), args.n_refs, field, store) for m in args.zoos])
    except GifvizError as error:
        print(f"label_thief_twins: error: {error}", file=sys.stderr)
        return 2
    aucs = auc_table(table)
    pd.set_option("display.width", 200)
    summary = aucs.groupby(["column", "comparison"]).auc.agg(["mean", "min", "max"]).unstack("comparison")
    summary = summary.swaplevel(axis=1)[[name for name, _, _ in COMPARISONS]]
    print("\nAUC pooled over each zoo's two sources: mean / worst / best across zoos")
    print(
        pd.DataFrame(
            {
                name: [
                    f"{summary.loc[c, (name, 'mean')]:.2f} / {summary.loc[c, (name, 'min')]:.2f} / "
                    f"{summary.loc[c, (name, 'max')]:.2f}"
                    for c in summary.index
                ]
                for name, _, _ in COMPARISONS
            },
            index=summary.index,
        ).to_string()
    )
    control = pooled_control(table)
    print("\nThe control on every pair together: rebuilt thieves against their own twins")
    print(control.round(3).to_string())
    combined = table[table.column == COMBINED]
    print(f"\nVerdicts of combined ({DEFAULT_FUSION}, false-positive rate {DEFAULT_ALPHA}), over zoos and sources")
    print(pd.crosstab(combined.group, combined.verdict).reindex(GROUPS).to_string())
    if args.out:
        out = Path(args.out)
        provenance = {
            "command": "python benchmarks/label_thief_twins.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "methods": list(DEFAULT_METHODS),
            "n_refs": args.n_refs,
            "field_config": field.to_dict(),
            "versions": versions(),
        }
        paths = write_files(
            {
                out / "twins.csv": table.to_csv(index=False),
                out / "aucs.csv": aucs.to_csv(index=False),
                out / "control.csv": control.to_csv(),
                out / "twins.json": json.dumps(provenance, indent=2),
            }
        )
        print("wrote " + " and ".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
