"""Choose the audit's ``combined`` fusion leave-one-zoo-out, and report it only on zoos it was not chosen on.

For every zoo and every source of its lineage (``relation = "source"``), one audit scores every model the IPP testbed
scores (the derived models and the innocent ones; the independents among them leave-one-out) with every method; each
candidate fusion then recombines the same distances (no model runs twice). A method's or a fusion's ROC-AUC per attack
category uses the audit's ``score`` (larger = more derived), pooled over sources as the IPP testbed pools them.

Leave-one-zoo-out: for each zoo, the candidate with the best *mean over categories of each category's worst-case
AUC* on the *other* zoos is picked (ties: the earlier candidate in ``gifviz.audit.fusion.FUSIONS``), and its AUC is
reported on the held-out zoo. The mean of worst cases, not the single worst cell: one category (extraction by
label-only thieves) is the worst for every candidate, and the single worst cell ranked candidates by that category
alone while a candidate's losses elsewhere (``best`` on transfer: worst case 0.81 on seeds 13-16, where
``positive-sum`` gives 0.95) did not count. The summary gives, per category, the mean and worst case across held-out
zoos for ``combined (leave-one-zoo-out)``, for each method, and for each candidate (for reference only: those rows
saw every zoo). A second table splits the extraction categories by what the thieves queried (the manifest's
``recipe.data``), and transfer by how long its models were trained (``recipe.epochs``) where a zoo has more than one
length, against the same negatives; it is descriptive, and no choice is made on it. So is the row ``combined without
the cross-task rule``: the shipped audit with every usable method fused for suspects of another task too, and (under
the same-arch calibration rule) those suspects read by that rule like the others; and the row of the shipped fusion
with the other reading of a suspect for which ``combined`` fuses one method
(``gifviz.audit.names.ONE_METHOD_COLUMN``: before round eight, the shipped one), and with the other spread floor of
the methods whose distance is a share of their samples (``gifviz.audit.names.RATE_SPREAD_COLUMN``: before round
nine, the shipped one), and with the other centre of relative values (``gifviz.audit.names.NULL_CENTRE_COLUMN``:
before round ten, the shipped one), and with the other null of a suspect with other output classes
(``gifviz.audit.names.CROSS_TASK_NULL_COLUMN``: before round seventeen, the shipped one), and with the other scope
of the methods that read weights (``gifviz.audit.names.WEIGHT_SCOPE_COLUMN``: round sixteen's; the same as the audit
as run when it runs none), and with the other score of ``combined`` (``gifviz.audit.names.COMBINED_SCORE_COLUMN``:
before round twenty-six, the shipped one; the verdicts are the audit's own), whose criteria and verdicts are printed
beside the shipped audit's; and, for each ``--without METHOD``, the audit as run with that method left out (a round
that adds a method compares the two from one run). A third counts the audit's own verdicts (``combined`` at the
default false-positive rate) per attack category and for the innocent models, printed for the default fusion and
written for every candidate (``verdicts.csv``; each model's, with its architecture and what a thief queried, in
``verdicts_by_model.csv``), with the extraction thieves' verdicts split by what they queried and by architecture;
descriptive too. ``readings.csv`` keeps every scored model's calibration per method, and ``fused_null.csv`` the
members of each one's fused null, from which ``benchmarks/fit_fusion_weights.py`` recomputes a fusion of tail
p-values exactly.

    python benchmarks/audit_selection.py /work/stress_zoos/fresh-seed-{25,26,27,28}/zoo.toml --n-refs 128 \
        --out benchmarks/results/audit

The fusion to freeze as the default is the one picked on all zoos together (printed last).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

from gifviz.audit.fusion import FUSIONS
from gifviz.audit.names import (
    CALIBRATION_RULES,
    COMBINED_SCORE_COLUMN,
    COMBINED_SCORE_OTHER,
    CROSS_TASK_NULL_COLUMN,
    CROSS_TASK_NULL_OTHER,
    DEFAULT_ALPHA,
    DEFAULT_CALIBRATION,
    DEFAULT_FUSION,
    DEFAULT_METHODS,
    NO_CROSS_TASK,
    NULL_CENTRE_COLUMN,
    NULL_CENTRE_OTHER,
    ONE_METHOD_COLUMN,
    ONE_METHOD_OTHER,
    RATE_SPREAD_COLUMN,
    RATE_SPREAD_OTHER,
    VERDICTS,
    WEIGHT_SCOPE_COLUMN,
    WEIGHT_SCOPE_OTHER,
)
from gifviz.audit.provenance import default_references, versions
from gifviz.audit.run_audit import COMBINED, AuditResult, audit
from gifviz.audit.settings import ReadingSettings
from gifviz.bench import ipp
from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.hub import Zoo
from gifviz.hub.spec import ModelSpec
from gifviz.outputs import write_files
from gifviz.store import FieldStore

# The shipped fusion read with one other setting each, printed beside the shipped audit with its criterion and its
# verdicts: the readings rounds eight, nine, ten and seventeen replaced (each the default before its round), and
# round sixteen's other scope of the weight methods (the same as the audit as run when it runs none).
# The fusion round eleven replaced is among the candidate fusions printed under the shipped settings.
OTHER_READINGS = {
    ONE_METHOD_COLUMN: {"one_method": ONE_METHOD_OTHER},  # transfer-long/DECLARED.md
    RATE_SPREAD_COLUMN: {"rate_spread": RATE_SPREAD_OTHER},  # rate-spread/DECLARED.md
    NULL_CENTRE_COLUMN: {"null_centre": NULL_CENTRE_OTHER},  # null-centre/DECLARED.md
    CROSS_TASK_NULL_COLUMN: {"cross_task_null": CROSS_TASK_NULL_OTHER},  # round-seventeen/DECLARED.md
    WEIGHT_SCOPE_COLUMN: {"weight_scope": WEIGHT_SCOPE_OTHER},  # round-sixteen/DECLARED.md
    COMBINED_SCORE_COLUMN: {"combined_score": COMBINED_SCORE_OTHER},  # round-twenty-six/DECLARED.md
}


def zoo_aucs(
    manifest: str,
    methods: tuple[str, ...],
    n_refs: int,
    field: FieldConfig,
    store: FieldStore | None,
    calibration: str = DEFAULT_CALIBRATION,
    verdicts: list[dict] | None = None,
    readings: list[dict] | None = None,
    null: list[dict] | None = None,
    without: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per (category, method or ``fusion:<name>``) with its pooled ROC-AUC on this zoo; ``verdicts``, when
    given, receives each candidate fusion's combined verdict of every model it scored (:func:`source_verdicts`), and
    ``readings`` every scored model's calibration per method in the shipped audit (:func:`source_readings`), and
    ``null`` the members of each one's fused null (:func:`source_fused_null`). For each of ``without``, a column
    :func:`without_column` holds the audit's ``combined`` with that method left out (:func:`without_method`)."""
    zoo = Zoo.open(manifest)
    cases = ipp.ipp_cases(zoo)
    references, pool = default_references(zoo, n_refs, store)
    scored: dict[str, dict[str, tuple[list[int], list[float]]]] = {}  # column -> category -> (labels, scores)
    for source in sorted({case.source for case in cases}):
        own = [case for case in cases if case.source == source]
        suspects = sorted({m for case in own for m in (*case.positives, *case.negatives)})
        started = time.perf_counter()
        result = audit(
            zoo,
            source,
            suspects,
            None,
            methods,
            references,
            field,
            store,
            labelled_pool=pool,
            n_refs=n_refs,
            settings=ReadingSettings(calibration=calibration),
        )
        print(f"  {zoo.name}: audit of {source} ({len(suspects)} suspects) {time.perf_counter() - started:.1f} s")
        audits = {"": result, **{f"fusion:{name}": result.reread(fusion=name) for name in FUSIONS}}
        # The shipped audit with its cross-task rule switched off, to show what the rule changes (descriptive: never a
        # candidate of the choice, which reads the fusion:<name> columns only).
        audits[NO_CROSS_TASK] = without_cross_task(result)
        audits.update({column: result.reread(**changes) for column, changes in OTHER_READINGS.items()})
        audits.update({without_column(m): without_method(result, m) for m in without})
        if readings is not None:
            readings += source_readings(zoo, result, own, methods)
        if null is not None:
            null += source_fused_null(zoo, result, own)
        if verdicts is not None:
            for name in FUSIONS:
                verdicts += source_verdicts(zoo, audits[f"fusion:{name}"], own)
            for column in (*OTHER_READINGS, *map(without_column, without)):
                verdicts += [{**v, "fusion": column} for v in source_verdicts(zoo, audits[column], own)]
        for case in own:
            # light and long transfer models apart where a source has both (transfer-long/DECLARED.md)
            lengths = {m: _trained(zoo.spec(m)) for m in case.positives} if case.category == "transfer" else {}
            for model_id in case.positives + case.negatives:
                label = int(model_id in case.positives)
                # A thief also counts in its breakdown group (what it queried); negatives count in every group.
                groups = [case.category]
                if case.category.startswith("extract"):
                    queried = sorted({_queried(zoo.spec(m)) for m in ([model_id] if label else case.positives)})
                    groups += [f"{case.category} [{data}]" for data in queried]
                elif len(set(lengths.values())) > 1:
                    trained = sorted({lengths[model_id]} if label else set(lengths.values()))
                    groups += [f"transfer [{length}]" for length in trained]
                for category in groups:
                    for method in methods:
                        labels, values = scored.setdefault(method, {}).setdefault(category, ([], []))
                        labels.append(label)
                        values.append(result.row(model_id, method).score)
                    for column, fused in audits.items():
                        if column:
                            labels, values = scored.setdefault(column, {}).setdefault(category, ([], []))
                            labels.append(label)
                            values.append(fused.row(model_id, COMBINED).score)
    return pd.DataFrame(
        [
            {"zoo": zoo.name, "manifest": manifest, "category": category, "column": column, "auc": ipp.auc(*pair)}
            for column, categories in scored.items()
            for category, pair in categories.items()
        ]
    )


def without_cross_task(result: AuditResult) -> AuditResult:
    """``result`` recombined as if no suspect had other output classes than the source: every usable method fused
    for every suspect, and each read by the audit's calibration rule (no model runs again)."""
    recombined = dataclasses.replace(result, evidence=dataclasses.replace(result.evidence, other_classes=frozenset()))
    return dataclasses.replace(recombined, rows=tuple(recombined.assessed(recombined.roles)))


def without_column(method: str) -> str:
    """The label of the column of the shipped audit with ``method`` left out (:func:`without_method`)."""
    return f"combined without {method}"


def without_method(result: AuditResult, method: str) -> AuditResult:
    """``result`` recombined as if ``method`` had not been run: every other method's calibration and ``combined`` as
    the audit reads them without it (no model runs again). A round that adds a method compares the two in one run."""
    if method not in result.methods:
        raise GifvizError(f"--without {method}: the audit did not run {method}; add it to --methods")
    return result.with_methods([m for m in result.methods if m != method])


def source_readings(zoo: Zoo, result: AuditResult, cases: list[ipp.IppCase], methods: tuple[str, ...]) -> list[dict]:
    """Each model the cases score, per method and for ``combined``: its calibration in the shipped audit, with its
    group (its attack category, or ``innocent-same`` / ``innocent-other`` for the innocent models of the source's
    task and of the transfer task) and the categories it is a negative of. ``benchmarks/fit_fusion_weights.py``
    refits a fusion from these rows without running a model."""
    groups: dict[str, str] = {}
    negative_of: dict[str, list[str]] = {}
    for case in cases:
        groups.update(dict.fromkeys(case.positives, case.category))
        for model_id in case.negatives:
            negative_of.setdefault(model_id, []).append(case.category)
            groups[model_id] = "innocent-other" if case.category == "transfer" else "innocent-same"
    rows = []
    for model_id, group in groups.items():
        described = _described(zoo.spec(model_id), group)
        combined_reads = result.combined_methods(model_id)
        for method in (*methods, COMBINED):
            row = result.row(model_id, method)
            rows.append(
                {
                    "zoo": zoo.name,
                    "source": result.roles.source,
                    "model": model_id,
                    "group": group,
                    "neg_of": ";".join(negative_of.get(model_id, [])),
                    **described,
                    "method": method,
                    "score": row.score,
                    "p_tail": row.p_tail,
                    "p_value": row.p_value,
                    "verdict": row.verdict,
                    "usable": row.usable,
                    # whether combined reads it (the cross-task rule and the weight scope set usable ones aside)
                    "fused": method in combined_reads,
                }
            )
    return rows


def source_fused_null(zoo: Zoo, result: AuditResult, cases: list[ipp.IppCase]) -> list[dict]:
    """For each model the cases score whose ``combined`` fuses a statistic, the members of its fused null
    (:meth:`gifviz.audit.run_audit.AuditResult.fused_null`): each independent's calibration per fused method against
    the other independents. With :func:`source_readings`, any fusion of tail p-values is recomputed from these exactly
    as the audit reads it, score and verdict, without running a model (``benchmarks/fit_fusion_weights.py``)."""
    rows = []
    for model_id in dict.fromkeys(m for case in cases for m in (*case.positives, *case.negatives)):
        for member, calibrations in result.fused_null(model_id).items():
            rows += [
                {
                    "zoo": zoo.name,
                    "source": result.roles.source,
                    "model": model_id,
                    "member": member,
                    "method": method,
                    "p_tail": calibration.p_tail,
                }
                for method, calibration in calibrations.items()
            ]
    return rows


def source_verdicts(zoo: Zoo, result: AuditResult, cases: list[ipp.IppCase]) -> list[dict]:
    """The combined verdict of every model one source's audit scored, under ``result``'s fusion: derived models under
    their attack category, innocent ones under whether they share the source's task; each row also names the model,
    its architecture and, for a thief, what it queried (descriptive: no choice is made on it)."""

    def row(model_id: str, group: str) -> dict:
        return {
            "zoo": zoo.name,
            "source": result.roles.source,
            "fusion": result.fusion,
            "group": group,
            "model": model_id,
            **_described(zoo.spec(model_id), group),
            "verdict": result.row(model_id).verdict,
        }

    rows = [row(model_id, case.category) for case in cases for model_id in case.positives]
    innocent = {
        model_id: "innocent, other task" if case.category == "transfer" else "innocent, same task"
        for case in cases
        for model_id in case.negatives
    }
    return rows + [row(m, g) for m, g in innocent.items()]


def verdict_table(verdicts: list[dict]) -> pd.DataFrame:
    """Models per fusion, group and verdict, summed over zoos and sources."""
    counts = pd.DataFrame(verdicts).groupby(["fusion", "group", "verdict"]).size().unstack(fill_value=0)
    groups = [*ipp.CATEGORIES, "innocent, same task", "innocent, other task"]
    labels = dict.fromkeys((*FUSIONS, *OTHER_READINGS, *(v["fusion"] for v in verdicts)))  # then --without's
    order = [(f, g) for f in labels for g in groups if (f, g) in counts.index]
    index = pd.MultiIndex.from_tuples(order, names=["fusion", "group"])
    return counts.reindex(index=index, columns=list(VERDICTS), fill_value=0)


def thief_verdict_table(verdicts: list[dict], fusion: str, by: str) -> pd.DataFrame:
    """The extraction thieves' verdicts under ``fusion``, per category and ``by`` (``queried`` or ``architecture``),
    summed over zoos and sources."""
    frame = pd.DataFrame(verdicts)
    thieves = frame[(frame["fusion"] == fusion) & frame["group"].str.startswith("extract")]
    counts = thieves.groupby(["group", by, "verdict"]).size().unstack(fill_value=0)
    return counts.reindex(columns=list(VERDICTS), fill_value=0)


def _described(spec: ModelSpec, group: str) -> dict[str, str]:
    """A scored model's architecture (``unrecorded`` where the manifest has none: a None would drop out of a
    groupby) and, for a thief, what it queried (an innocent model's training data is not a query)."""
    return {"architecture": spec.arch or "unrecorded", "queried": _queried(spec) if group.startswith("extract") else ""}


def _recipe_value(spec: ModelSpec, key: str) -> str:
    """``key`` of the model's recipe as the stress zoos' manifests record it, or ``unrecorded``."""
    return str((spec.extra.get("recipe") or {}).get(key, "unrecorded"))


def _queried(spec: ModelSpec) -> str:
    """What a thief queried its source with (the stress zoos' ``recipe.data``: ``natural`` or ``digits:attacker``)."""
    return _recipe_value(spec, "data")


def _trained(spec: ModelSpec) -> str:
    """How long a transfer model was trained (the stress zoos' ``recipe.epochs``), as ``"<n> epochs"``."""
    return f"{_recipe_value(spec, 'epochs')} epochs"


def main_categories(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the attack categories themselves (not their breakdown by what a thief queried)."""
    return table[table["category"].isin(ipp.CATEGORIES)]


def worst_case(table: pd.DataFrame, column: str) -> float:
    """The smallest AUC of ``column`` over every (zoo, category) of ``table``; NaN (cannot score) counts as 0. The
    breakdown groups never take part: the choice is made on the categories alone."""
    table = main_categories(table)
    values = table.loc[table["column"] == column, "auc"].fillna(0.0)
    return float(values.min()) if len(values) else math.nan


def mean_worst_case(table: pd.DataFrame, column: str) -> float:
    """The mean over the attack categories of ``table`` of ``column``'s worst AUC across its zoos; NaN (cannot
    score) counts as 0, and so does a category the column has no AUC for (a column the table lacks scores 0)."""
    table = main_categories(table)
    categories = table["category"].unique()
    values = table.loc[table["column"] == column].fillna({"auc": 0.0})
    worst = values.groupby("category")["auc"].min().reindex(categories, fill_value=0.0)
    return float(worst.mean()) if len(categories) else math.nan


def pick(table: pd.DataFrame) -> str:
    """The candidate fusion with the best mean over categories of the worst-case AUC on ``table``."""
    return max(FUSIONS, key=lambda name: (mean_worst_case(table, f"fusion:{name}"), -list(FUSIONS).index(name)))


def leave_one_zoo_out(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per held-out zoo: the fusion picked on the others, and its AUC per category on the held-out one."""
    rows, picks = [], {}
    for zoo in table["manifest"].unique():
        chosen = pick(table[table["manifest"] != zoo])
        picks[zoo] = chosen
        held = table[(table["manifest"] == zoo) & (table["column"] == f"fusion:{chosen}")]
        rows += [{**row, "column": "combined (leave-one-zoo-out)", "picked": chosen} for row in held.to_dict("records")]
    return pd.DataFrame(rows), picks


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """``(column, category)`` rows: mean and worst AUC across zoos, as ``mean / worst`` cells."""
    grouped = table.groupby(["column", "category"])["auc"]
    cells = (grouped.mean().map("{:.2f}".format) + " / " + grouped.min().map("{:.2f}".format)).unstack("category")
    order = [c for c in ipp.CATEGORIES if c in cells.columns]
    return cells[order]


def breakdown(table: pd.DataFrame) -> pd.DataFrame:
    """The extraction categories split by what the thieves queried, and transfer by how long its models were trained
    where a zoo has both lengths (descriptive: no choice is made on it)."""
    groups = table[~table["category"].isin(ipp.CATEGORIES)]
    if groups.empty:
        return pd.DataFrame()
    grouped = groups.groupby(["column", "category"])["auc"]
    return (grouped.mean().map("{:.2f}".format) + " / " + grouped.min().map("{:.2f}".format)).unstack("category")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoos", nargs="+", metavar="ZOO.toml", help="lineage zoos (at least 2)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated distance methods")
    parser.add_argument("--n-refs", type=int, default=128, help="references per audit")
    parser.add_argument("--steps", type=int, default=10, help="ModelGiF path steps")
    parser.add_argument(
        "--calibration", choices=CALIBRATION_RULES, default=DEFAULT_CALIBRATION, help="what each method is read on"
    )
    parser.add_argument("--no-cache", action="store_true", help="compute fields without the field store")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="METHOD",
        help="also print the audit with METHOD (one of --methods) left out, its criterion and its verdicts beside "
        "the audit as run (repeatable)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="write selection.csv, verdicts.csv, verdicts_by_model.csv, readings.csv, fused_null.csv and "
        "selection.json here",
    )
    args = parser.parse_args(argv)
    if len(args.zoos) < 2:
        parser.error("leave-one-zoo-out needs at least 2 zoos")
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    without = tuple(args.without)
    unknown = [m for m in without if m not in methods]
    if unknown:
        parser.error(f"--without {', '.join(unknown)}: not among --methods; add it there")
    store = None if args.no_cache else FieldStore()
    field = FieldConfig(steps=args.steps)
    verdicts: list[dict] = []
    readings: list[dict] = []
    null: list[dict] = []
    try:
        table = pd.concat(
            [
                zoo_aucs(z, methods, args.n_refs, field, store, args.calibration, verdicts, readings, null, without)
                for z in args.zoos
            ],
            ignore_index=True,
        )
    except GifvizError as error:
        print(f"audit_selection: error: {error}", file=sys.stderr)
        return 2
    held_out, picks = leave_one_zoo_out(table)
    everything = pd.concat([held_out.drop(columns="picked"), table], ignore_index=True)
    pd.set_option("display.width", 200)
    print(
        "\nAUC per category, mean / worst across zoos (combined: each zoo scored with the fusion picked on the others)"
    )
    print(summary(everything).to_string())
    split = breakdown(everything)
    if not split.empty:
        print(
            "\nExtraction split by what the thieves queried, transfer by training length (same audits, same negatives; "
            "mean / worst across zoos)"
        )
        print(split.to_string())
    print("\npicked per held-out zoo: " + ", ".join(f"{Path(z).parent.name or z}: {f}" for z, f in picks.items()))
    final = pick(table)
    print(f"picked on all {len(args.zoos)} zoos (the default to freeze): {final}")
    print(
        "  per candidate, mean over categories of the worst-case AUC (the criterion) and the single worst cell: "
        + ", ".join(
            f"{name} {mean_worst_case(table, f'fusion:{name}'):.3f} / {worst_case(table, f'fusion:{name}'):.3f}"
            for name in FUSIONS
        )
    )
    shipped = f"fusion:{DEFAULT_FUSION}"
    for column in (*OTHER_READINGS, *map(without_column, without)):
        print(
            f"\n{column} (the shipped fusion, {DEFAULT_FUSION}): criterion "
            f"{mean_worst_case(table, column):.3f} against {mean_worst_case(table, shipped):.3f} for the audit as run"
        )
    counts = verdict_table(verdicts)
    print(
        f"\nVerdicts of the audit as run (combined, fusion {DEFAULT_FUSION}, false-positive rate {DEFAULT_ALPHA}), "
        "models summed over zoos and sources (descriptive: no choice is made on it; every fusion's in verdicts.csv)"
    )
    print(counts.loc[DEFAULT_FUSION].to_string())
    for column in (*OTHER_READINGS, *map(without_column, without)):
        if column in counts.index.get_level_values("fusion"):
            print(f"\nThe same with {column}")
            print(counts.loc[column].to_string())
    for by in ("queried", "architecture"):
        thieves = thief_verdict_table(verdicts, DEFAULT_FUSION, by)
        if not thieves.empty:
            print(f"\nThe extraction thieves' verdicts by what they {'queried' if by == 'queried' else 'are built on'}")
            print(thieves.to_string())
    if args.out:
        out = Path(args.out)
        provenance = {
            "command": "python benchmarks/audit_selection.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "methods": list(methods),
            "without": list(without),
            "n_refs": args.n_refs,
            # every reading setting of the shipped audit the zoos were scored with (the fusion is printed per row)
            **ReadingSettings(calibration=args.calibration).config(),
            "field_config": field.to_dict(),
            "picks": picks,
            "picked_on_all": final,
            "criterion": "mean over categories of the worst-case AUC across zoos",
            "verdicts_printed_for": DEFAULT_FUSION,
            "versions": versions(),
        }
        paths = write_files(
            {
                out / "selection.csv": everything.to_csv(index=False),
                out / "verdicts.csv": counts.to_csv(),
                out / "verdicts_by_model.csv": pd.DataFrame(verdicts).to_csv(index=False),
                out / "readings.csv": pd.DataFrame(readings).to_csv(index=False),
                out / "fused_null.csv": pd.DataFrame(null).to_csv(index=False),
                out / "selection.json": json.dumps(provenance, indent=2),
            }
        )
        print("wrote " + " and ".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
