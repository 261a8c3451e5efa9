"""Testbed runs for the Benchmarks page: the run's configuration, its cost estimate before it starts (from
:func:`gifviz.bench.costs.method_costs`), and the run itself, computed on request with progress and kept for the
session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from gifviz.analysis.clustering import cluster
from gifviz.app.resources import StreamlitProgress, open_store, open_zoo, serving_policy
from gifviz.app.settings import AppSettings
from gifviz.audit.names import (
    COMBINED_SCORE_COLUMN,
    CROSS_TASK_NULL_COLUMN,
    DEFAULT_FUSION,
    FITTED_WEIGHTS_FUSION,
    NO_CROSS_TASK,
    NO_FIRST_LAYER,
    NO_SOURCE_CROPS,
    NULL_CENTRE_COLUMN,
    ONE_METHOD_COLUMN,
    PREVIOUS_FUSION,
    RATE_SPREAD_COLUMN,
    STOUFFER,
)
from gifviz.bench.costs import MethodCost, method_costs
from gifviz.bench.ipp import CATEGORIES
from gifviz.bench.suite import RUNNERS, BenchConfig, BenchResult, bench_inputs, models_for
from gifviz.bench.task_relatedness import task_distance_matrix
from gifviz.bench.unlearning import GROUPS, verdict_shares
from gifviz.figures.space import dendrogram_figure
from gifviz.refs import ReferenceSet


def bench_config(current: AppSettings, methods: tuple[str, ...], n_refs: int, resamples: int) -> BenchConfig:
    """The page's run: the app's field settings, a sweep up to ``n_refs`` (never beyond: larger N is asked for
    explicitly through N itself)."""
    sweep = tuple(n for n in BenchConfig().sweep if n <= n_refs)
    return BenchConfig(field=current.field_config(), methods=methods, n_refs=n_refs, sweep=sweep, resamples=resamples)


def result_key(current: AppSettings, testbed: str, methods: tuple[str, ...], n_refs: int, resamples: int) -> str:
    """What decides a testbed result: the zoo, the field configuration and the run's options."""
    return "|".join(
        [
            current.manifest,
            current.field_config().to_json(for_key=True),
            testbed,
            ",".join(methods),
            str(n_refs),
            str(resamples),
        ]
    )


def stored_result(key: str) -> BenchResult | None:
    return st.session_state.get("bench_results", {}).get(key)


@st.cache_resource(show_spinner="Reading the testbed's references ...")
def _references(manifest: str, n_refs: int) -> ReferenceSet:
    return bench_inputs(open_zoo(manifest), BenchConfig(n_refs=n_refs, sweep=())).references


def run_plan(current: AppSettings, testbed: str, methods: tuple[str, ...], n_refs: int) -> list[MethodCost]:
    """The estimate the page shows before running; raises :class:`~gifviz.errors.ConfigError` naming what the zoo
    lacks when it cannot run ``testbed``."""
    ids = models_for(open_zoo(current.manifest), testbed)
    references = _references(current.manifest, n_refs)
    return method_costs(ids, methods, references, current.field_config(), open_store())


def run_testbed(
    current: AppSettings, testbed: str, methods: tuple[str, ...], n_refs: int, resamples: int
) -> BenchResult:
    """Run one testbed (fields from the store when cached) and keep the result for this session.

    A run estimated beyond the server's computing limit per request is refused before it starts
    (:class:`~gifviz.app.serving.ServingRefused`, naming the limit)."""
    serving_policy().check_seconds(sum(cost.seconds for cost in run_plan(current, testbed, methods, n_refs)))
    zoo = open_zoo(current.manifest)
    config = bench_config(current, methods, n_refs, resamples)
    inputs = bench_inputs(zoo, config, open_store())
    progress = StreamlitProgress(len(zoo.ids))
    result = RUNNERS[testbed](inputs, config, progress)
    progress.bar.empty()
    st.session_state.setdefault("bench_results", {})[result_key(current, testbed, methods, n_refs, resamples)] = result
    return result


def task_tree(details: pd.DataFrame, method: str) -> go.Figure | None:
    """The similarity tree of the tasks by ``method``'s distances between task models, from a task testbed's
    ``details``; ``None`` when the method could not compare every pair (models with different classes)."""
    matrix = task_distance_matrix(details, method)
    if not np.isfinite(matrix.values).all():
        return None
    tree = dendrogram_figure(cluster(matrix, "average"))
    tree.update_layout(title=f"{method}: similarity tree of the tasks", height=420)
    return tree


def roc_categories(result: BenchResult) -> tuple[list[str], int]:
    """The attack categories an IPP result holds (a user's zoo may lack some), and which to show first."""
    categories = [category for category in CATEGORIES if category in set(result.details["category"])]
    return categories, categories.index("extract-prob") if "extract-prob" in categories else 0


def detail_methods(result: BenchResult) -> list[str]:
    """The methods of a result's details, in run order."""
    return list(dict.fromkeys(result.details["method"]))


_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
# The audit's leave-one-zoo-out results on the stress zoos (benchmarks/audit_selection.py), shipped with the checkout:
# the report of the audit as shipped since round twenty-six (by-attack without source crops, combined scored by its
# fused statistic): seeds 217-224, scored once after round twenty-six chose it, 225-232 after round twenty-seven kept
# it, 233-240 after round twenty-eight kept it, 241-248 in round twenty-nine and 249-256 and 257-264 in round thirty
# (rounds with no candidate), 265-272 after round thirty-one kept it, 273-280, 281-288, 290-297, 298-305 and 306-313 in
# rounds thirty-two to thirty-six (no candidate; seed 289 failed its build), 314-321 after round thirty-seven kept it
# and 322-329, 330-337, 338-345, 346-353, 354-361, 362-369, 370-377 and 378-385 in rounds thirty-eight to forty-five
# (no candidate), 386-393 and 394-401 after round forty-six kept it, 402-409 and 411-418 in round forty-seven (seed
# 410 failed its build; round forty-six's candidate, by-attack-modeldiff, a row of round forty-six's to forty-nine's
# sets only), 419-426 and 427-434 after round forty-eight kept it (its candidate, by-attack-off-task-half, a row of
# round forty-eight's and forty-nine's sets only), and 435-442 in round forty-nine (no new candidate), read together.
# The report sets of the audit before it (by-attack with source crops, rounds
# twenty-three to twenty-five) keep their folders: audit-seeds-193-200, -201-208 and -209-216
# (the page read them together until round twenty-six), and round-twenty-six/previous-audit (that audit on seeds
# 217-224). Those of the audit before that: audit-seeds-153-160, -161-168, -169-176, -177-184 and -185-192 (rounds
# eighteen to twenty-two, fitted-weights without source crops; the page read them together until round twenty-three),
# round-twenty-three/previous-audit, round-twenty-four/without-crops and round-twenty-five/previous-audit (that audit on
# seeds 193-200, 201-208 and 209-216); and the earlier ones (audit-seeds-145-152 round seventeen's, audit-seeds-137-144
# round sixteen's, audit-seeds-129-136 round fifteen's, audit-seeds-121-128 round fourteen's, audit-seeds-113-120 round
# thirteen's, audit-seeds-105-112 round twelve's, audit-seeds-97-104 round eleven's, audit-seeds-89-96 round ten's,
# audit-seeds-81-88 round nine's, audit seeds 65-72's).
_REPORT_SETS = (
    "217-224", "225-232", "233-240", "241-248", "249-256", "257-264", "265-272", "273-280", "281-288", "290-297",
    "298-305", "306-313", "314-321", "322-329", "330-337", "338-345", "346-353", "354-361",
    "362-369", "370-377", "378-385", "386-393", "394-401", "402-409", "411-418", "419-426", "427-434",
    "435-442",
)  # fmt: skip
STRESS_RESULTS = tuple(_RESULTS / f"audit-seeds-{seeds}" / "selection.csv" for seeds in _REPORT_SETS)
# verify-unlearning's reports on the unlearning stress zoos (benchmarks/unlearning_rules.py): seeds 9-16 (unlearning
# round one), 18-25 (round two) and 26-33 (round three; both with no candidate), read together.
UNLEARNING_RESULTS = tuple(
    _RESULTS / f"unlearning-seeds-{seeds}" / "verdicts.csv" for seeds in ("9-16", "18-25", "26-33")
)
# The shipped audit with one round's change undone, as the results name those rows, and as the page does: round
# twenty-six's score (the fused statistic) undone, round twenty-three's method (source crops; in the reports of
# rounds twenty-three to twenty-five) or fusion (by-attack) undone, the fusion before round eighteen, then with only
# round seventeen's null, round sixteen's method (first-layer weights), the fusion before round eleven, or round
# ten's, nine's or eight's reading undone. The audit before round twenty-three (fitted-weights without source crops)
# is no row of a run with source crops; the three folders of it named above hold it for those report sets.
EARLIER_AUDITS = {
    COMBINED_SCORE_COLUMN: "round twenty-six's score undone (score read as 'calibrated')",
    NO_SOURCE_CROPS: f"round twenty-three's method undone ({DEFAULT_FUSION} without source-crops)",
    f"fusion:{FITTED_WEIGHTS_FUSION}": f"round twenty-three's fusion undone (fusion {FITTED_WEIGHTS_FUSION})",
    f"fusion:{STOUFFER}": f"the fusion before round eighteen (fusion {STOUFFER})",
    CROSS_TASK_NULL_COLUMN: "round seventeen's cross-task null undone (cross-task null 'other-kinds')",
    NO_FIRST_LAYER: "round sixteen's method undone (without first-layer)",
    f"fusion:{PREVIOUS_FUSION}": f"the fusion before round eleven (fusion {PREVIOUS_FUSION})",
    NULL_CENTRE_COLUMN: "round ten's centre undone (null centre 'mean')",
    RATE_SPREAD_COLUMN: "rates' spread as before round nine (rate spread 'value')",
    ONE_METHOD_COLUMN: "one fused method read as fused (as before round eight)",
}
STRESS_CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob", "transfer")


def _listed(paths: Path | Sequence[Path]) -> list[Path]:
    """``paths`` as a list: one report set's results file or several."""
    return [paths] if isinstance(paths, Path) else list(paths)


def stress_audit_table(paths: Path | Sequence[Path] = STRESS_RESULTS) -> pd.DataFrame | None:
    """AUC per attack category as ``mean / worst`` across the stress zoos: first the audit as shipped (the default
    fusion's row, named ``combined (default: ...)``), then, when recorded, the audits before the latest rounds
    (:data:`EARLIER_AUDITS`) and the same audits without the cross-task rule, then one row per method, per other
    candidate fusion and for ``combined (leave-one-zoo-out)`` (each zoo scored with the fusion picked on the others);
    columns per category, then per extraction category split by what the thieves queried and transfer by training
    length; over every zoo of ``paths`` (one report set or several), a row that fewer of them record named with its
    number of zoos. ``None`` when no results file is there (an installed package without the checkout's
    benchmarks)."""
    if not (found := [path for path in _listed(paths) if path.is_file()]):
        return None
    results = pd.concat([pd.read_csv(path) for path in found], ignore_index=True)
    shipped = f"combined (default: {DEFAULT_FUSION})"
    results["column"] = results["column"].replace({f"fusion:{DEFAULT_FUSION}": shipped, **EARLIER_AUDITS})
    first = [shipped, *EARLIER_AUDITS.values(), NO_CROSS_TASK]
    summary = results.groupby(["column", "category"])["auc"].agg(["mean", "min"])
    # then the breakdown groups ("extract-label [natural]", "transfer [10 epochs]"), when recorded
    categories = [*STRESS_CATEGORIES, *(c for c in dict.fromkeys(results["category"]) if c not in STRESS_CATEGORIES)]
    rows = {}
    columns = dict.fromkeys(results["column"])
    zoos = results.groupby("column")["zoo"].nunique()
    every = results["zoo"].nunique()
    # the audit as shipped first, then the audits before the latest rounds and the same audits without the cross-task
    # rule (descriptive: what each changes), the rest as written
    for column in sorted(columns, key=lambda c: first.index(c) if c in first else len(first)):
        cells = {}
        for category in categories:
            if (column, category) in summary.index:
                mean, worst = summary.loc[(column, category)]
                cells[category] = "n/a" if pd.isna(mean) else f"{mean:.2f} / {worst:.2f}"
        # a row recorded by fewer report sets than the table pools (a fusion added in a later round) says on how
        # many zoos it stands, so that its mean and worst case are not read as the title's
        name = column if zoos[column] == every else f"{column} (on {zoos[column]} of the {every} zoos)"
        rows[name] = cells
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"AUC, mean / worst over {every} stress zoos"
    return table


def stress_audit_command(paths: Path | Sequence[Path] = STRESS_RESULTS) -> str | None:
    """The commands that wrote the stress results (``selection.json`` beside each CSV), to cite under the table;
    ``None`` when none is recorded."""
    provenances = [path.with_name("selection.json") for path in _listed(paths)]
    commands = [json.loads(p.read_text()).get("command") for p in provenances if p.is_file()]
    return "`; `".join(c for c in commands if c) or None


def unlearning_stress_table(paths: Path | Sequence[Path] = UNLEARNING_RESULTS) -> pd.DataFrame | None:
    """verify-unlearning on the unlearning stress zoos, one row per method and verdict rule: the right verdicts per
    group (``n of N`` pooled, and the worst zoo's share) and the balanced accuracy (mean of the unlearned and the
    retrained groups' shares) as ``mean / worst`` across the zoos of ``paths`` (one report set or several). ``None``
    when no results file is there."""
    if not (found := [path for path in _listed(paths) if path.is_file()]):
        return None
    verdicts = pd.concat([pd.read_csv(path) for path in found], ignore_index=True)
    all_shares = verdict_shares(verdicts)
    rows = {}
    for (method, rule), frame in verdicts.groupby(["method", "rule"], sort=False):
        # a group a zoo lacks is NaN there: its cells say n/a rather than crash or average fewer zoos unsaid
        shares = all_shares.loc[(method, rule)]
        cells = {}
        for group in GROUPS:
            right = frame[frame["group"] == group]["right"]
            worst = shares[group].min()
            complete = not shares[group].isna().any()
            cells[group] = f"{int(right.sum())} of {len(right)} (worst zoo {worst:.2f})" if complete else "n/a"
        balanced = shares["balanced"]
        complete = not balanced.isna().any()
        cells["balanced accuracy"] = f"{balanced.mean():.2f} / {balanced.min():.2f}" if complete else "n/a"
        rows[f"{method}, {rule}"] = cells
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"right verdicts over {verdicts['zoo'].nunique()} unlearning zoos"
    return table
