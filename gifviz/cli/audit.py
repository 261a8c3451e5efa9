"""``gifviz audit`` and ``gifviz verify-unlearning``: answer an IP or an unlearning question about named models,
writing CSV + JSON provenance and printing a table."""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from typing import Any

from gifviz.audit.names import (
    AUDIT_METHODS,
    CALIBRATION_RULES,
    COMBINED_SCORES,
    CROSS_TASK_NULLS,
    DEFAULT_ALPHA,
    DEFAULT_CALIBRATION,
    DEFAULT_COMBINED_SCORE,
    DEFAULT_CROSS_TASK_NULL,
    DEFAULT_FUSION,
    DEFAULT_METHODS,
    DEFAULT_N_REFS,
    DEFAULT_UNLEARNING_RULE,
    DEFAULT_WEIGHT_SCOPE,
    FUSION_NAMES,
    UNLEARNING_RULES,
    VERDICT_MEANING,
    VERDICTS,
    WEIGHT_SCOPES,
    twin_methods_warning,
)
from gifviz.cli.choices import METHODS
from gifviz.cli.options import add_field_options, add_reference_options, add_store_options
from gifviz.errors import ConfigError

# The handlers import the workflows (torch, scipy, pandas) when they run: the parser stays light.


def _ids(text: str | None) -> list[str] | None:
    """``a,b`` -> ``["a", "b"]``; ``None`` (option not given) stays ``None`` so the library's default applies."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--alpha takes a false-positive rate such as 0.05; got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"--alpha is a false-positive rate between 0 and 1; got {text!r}")
    return value


def register(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit",
        help="IP audit: was each suspect derived from the source? calibrated against independent models",
        description="Score each suspect's distance from the source with every method against the same distance to "
        "independent models: a score, an empirical p-value (how often an independent looks at least as derived), "
        "a Student-t tail p-value and a verdict (derived, independent, inconclusive) at the false-positive rate "
        "--alpha, per method and combined. Writes DIR/audit.csv, DIR/audit.json (provenance) and "
        "DIR/independents.csv (the audit's own false-positive check: every independent read as a suspect against "
        "the others) and prints a table.",
    )
    audit.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    audit.add_argument("--source", required=True, metavar="ID", help="the owner's model")
    audit.add_argument(
        "--suspects", metavar="ID,ID,...", help="models to score (default: all but the source and the independents)"
    )
    audit.add_argument(
        "--independent",
        metavar="ID,ID,...",
        help='models known to be independent, at least 2 (default: relation = "independent" with the source\'s '
        "task); a model that is also a suspect is scored against the others (leave-one-out)",
    )
    audit.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        metavar="M,M,...",
        help=f"comma-separated, from: {', '.join(AUDIT_METHODS)}",
    )
    audit.add_argument("--alpha", type=_alpha, default=DEFAULT_ALPHA, help="false-positive rate of every verdict")
    audit.add_argument("--fusion", choices=FUSION_NAMES, default=DEFAULT_FUSION, help="how 'combined' fuses methods")
    audit.add_argument(
        "--calibration",
        choices=CALIBRATION_RULES,
        default=DEFAULT_CALIBRATION,
        help="same-arch: the source's distance to a suspect against the suspect's own distances to the independents "
        "of the source's architecture (a thief of another architecture is far from everything but closest to its "
        "source, and an innocent model of the source's architecture is as close to its kind); relative: the same "
        "against every independent; absolute: the raw distance against the independents' distances from the source "
        "(source-flips, source-crops and first-layer are read raw under each)",
    )
    audit.add_argument(
        "--cross-task-null",
        choices=CROSS_TASK_NULLS,
        default=DEFAULT_CROSS_TASK_NULL,
        help="which independents calibrate a suspect with other output classes than the source (a transfer model): "
        "all: every one; other-kinds: those of other architectures than the source's (its own kind shares its task; "
        "the better setting when first-layer cannot read the suspect: a model behind an API, another stem)",
    )
    audit.add_argument(
        "--weight-scope",
        choices=WEIGHT_SCOPES,
        default=DEFAULT_WEIGHT_SCOPE,
        help="which suspects' 'combined' fuses the methods that read weights (first-layer): every-suspect, each one "
        "they can compare; other-task, only a suspect with other output classes than the source (a transfer model)",
    )
    audit.add_argument(
        "--combined-score",
        choices=COMBINED_SCORES,
        default=DEFAULT_COMBINED_SCORE,
        help="the 'combined' row's score where methods were fused: fused, the fused statistic itself (it ranks "
        "suspects better on the stress zoos); calibrated, that statistic's distance above the independents' own fused "
        "statistics in their standard deviations. The p-value and the verdict are read against those under both; a "
        "suspect only one method reads keeps that method's own score",
    )
    audit.add_argument(
        "--out", required=True, metavar="DIR", help="folder for audit.csv, audit.json and independents.csv"
    )
    audit.add_argument("--quiet", action="store_true", help="no progress bars")
    add_reference_options(audit)
    add_field_options(audit)
    add_store_options(audit)
    audit.set_defaults(handler=run_audit, steps=10)

    unlearning = commands.add_parser(
        "verify-unlearning",
        help="unlearning check: is each candidate like a retrained model, or still close to the original?",
        description="Measure each candidate's distance from the original. With models retrained without the "
        "forgotten data, a candidate at least as far from the original as they are (--verdict-rule) is 'like "
        "retraining', else 'close to the original'; without them the verdict is 'inconclusive'. Writes "
        "DIR/unlearning.csv and DIR/unlearning.json (provenance).",
    )
    unlearning.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    unlearning.add_argument("--original", required=True, metavar="ID", help="the model trained on all the data")
    unlearning.add_argument("--candidates", required=True, metavar="ID,ID,...", help="the models to judge")
    unlearning.add_argument(
        "--retrained",
        metavar="ID,ID,...",
        help="models retrained without the forgotten data (default: none, and every verdict is inconclusive)",
    )
    unlearning.add_argument("--method", choices=METHODS, default="modelgif", help="distance method")
    unlearning.add_argument(
        "--verdict-rule",
        choices=UNLEARNING_RULES,
        default=DEFAULT_UNLEARNING_RULE,
        help="how far is 'as far as the retrained models': closest, the closest one's distance (judged leave-one-out, "
        "the retrained candidate closest to the original is always called close to it); prediction, the lower "
        "prediction bound of their distances at --alpha",
    )
    unlearning.add_argument(
        "--alpha", type=_alpha, default=DEFAULT_ALPHA, help="false-positive rate of the prediction rule"
    )
    unlearning.add_argument("--out", required=True, metavar="DIR", help="folder for unlearning.csv and .json")
    unlearning.add_argument("--quiet", action="store_true", help="no progress bars")
    add_reference_options(unlearning)
    add_field_options(unlearning)
    add_store_options(unlearning)
    unlearning.set_defaults(handler=run_verify_unlearning, steps=10)


def _finite(value: Any) -> Any:
    """JSON has no NaN: a value that does not exist is ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _number(value: float, digits: int = 3) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"


def _prepare(args: argparse.Namespace, names: list[str]):
    """The zoo, its checked output folder and the references (``None``: the library's default for this zoo)."""
    from gifviz.cli.guards import check_output_dir, run_inputs
    from gifviz.cli.options import references_folder
    from gifviz.hub.zoo import Zoo
    from gifviz.refs import load_reference_folder

    zoo = Zoo.open(args.zoo)
    check_output_dir(args.out, names, run_inputs(zoo, references_folder(zoo, args)))
    if args.n_refs is not None and args.n_refs < 2:
        raise ConfigError(f"--n-refs must be at least 2; got {args.n_refs}")
    references = load_reference_folder(args.refs, zoo.space, args.n_refs) if args.refs else None
    return zoo, references


def run_audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gifviz.audit.run_audit import audit
    from gifviz.audit.settings import ReadingSettings
    from gifviz.cli.options import config_from_args, store_from_args
    from gifviz.cli.progress import TerminalProgress
    from gifviz.cli.table import format_table
    from gifviz.outputs import write_files

    methods = _ids(args.methods) or []
    if warning := twin_methods_warning(methods):
        print(f"gifviz: warning: {warning}", file=sys.stderr)
    settings = ReadingSettings(
        fusion=args.fusion,
        calibration=args.calibration,
        cross_task_null=args.cross_task_null,
        weight_scope=args.weight_scope,
        combined_score=args.combined_score,
    )
    zoo, references = _prepare(args, ["audit.csv", "audit.json", "independents.csv"])
    config = config_from_args(args)
    result = audit(
        zoo,
        args.source,
        _ids(args.suspects),
        _ids(args.independent),
        methods,
        references,
        config,
        store_from_args(args),
        args.alpha,
        settings=settings,
        n_refs=args.n_refs or DEFAULT_N_REFS,
        seed=args.seed,
        progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
    )
    frame = result.frame()
    check = result.self_check()
    out = Path(args.out)
    warnings = result.warnings()
    provenance = {**result.provenance, "independents_check": check.record(), "warnings": warnings}
    paths = write_files(
        {
            out / "audit.csv": frame.to_csv(index=False),
            out / "audit.json": json.dumps(_finite(provenance), indent=2, default=str) + "\n",
            out / "independents.csv": check.frame().to_csv(index=False),
        }
    )
    rows = [
        (r.suspect, r.method, _number(r.distance), _number(r.score, 2), _number(r.p_value), r.verdict)
        for r in frame.itertuples()
    ]
    print(format_table(("suspect", "method", "distance", "score", "p_value", "verdict"), rows))
    n = len(result.roles.independents)
    print(
        f"\nsource {result.roles.source}; {n} independents ({', '.join(result.roles.independents)}); "
        f"false-positive rate {result.alpha}; {result.calibration} calibration; combined = {result.fusion}"
    )
    combined = frame[frame["method"] == "combined"]
    # The note most combined rows share (every method fused; or, when a method could not run at all, the same one
    # left out on every row) is printed once, and only the rows that say more follow: on a zoo of fifty models the
    # same line fifty times would bury the few that matter. The CSV keeps every row's note.
    notes = combined["note"].fillna("")
    counts = notes.value_counts()
    common = counts.index[0] if len(counts) and counts.iloc[0] > 1 else None
    if common is not None:
        print(f"combined rows: {common} (unless a line below says otherwise)")
    for r in combined[notes != common].itertuples():
        print(f"{r.suspect}: {r.note}")
    # The answer first asked for, after the evidence: which suspects the audit calls derived (and which it cannot
    # decide); the independent ones are only counted.
    summary = []
    for verdict in VERDICTS:
        ids = combined.loc[combined["verdict"] == verdict, "suspect"].tolist()
        listed = f" ({', '.join(ids)})" if ids and verdict in ("derived", "inconclusive") else ""
        summary.append(f"{verdict} {len(ids)}{listed}")
    print("\ncombined verdicts: " + "; ".join(summary))
    print("\n" + textwrap.fill(check.summary(), width=120))
    for warning in warnings:  # after the verdicts and the check, which they qualify
        print(f"gifviz: warning: {warning}", file=sys.stderr)
    print("\n" + textwrap.fill(VERDICT_MEANING, width=120))
    print("wrote " + " and ".join(str(p) for p in paths))
    return 0


def run_verify_unlearning(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gifviz.audit.unlearning import verify_unlearning
    from gifviz.cli.options import config_from_args, store_from_args
    from gifviz.cli.progress import TerminalProgress
    from gifviz.cli.table import format_table
    from gifviz.outputs import write_files

    zoo, references = _prepare(args, ["unlearning.csv", "unlearning.json"])
    config = config_from_args(args)
    result = verify_unlearning(
        zoo,
        args.original,
        _ids(args.candidates) or [],
        _ids(args.retrained),
        args.method,
        references,
        config,
        store_from_args(args),
        rule=args.verdict_rule,
        alpha=args.alpha,
        n_refs=args.n_refs or DEFAULT_N_REFS,
        seed=args.seed,
        progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
    )
    frame = result.frame()
    out = Path(args.out)
    sidecar = {**result.provenance, "retrained_distances": result.retrained_distances}
    paths = write_files(
        {
            out / "unlearning.csv": frame.to_csv(index=False),
            out / "unlearning.json": json.dumps(_finite(sidecar), indent=2, default=str) + "\n",
        }
    )
    rows = [(r.candidate, _number(r.distance), _number(r.threshold), r.verdict) for r in frame.itertuples()]
    print(format_table(("candidate", "distance", "threshold", "verdict"), rows))
    for model_id, value in result.retrained_distances.items():
        print(f"retrained {model_id}: distance {_number(value)}")
    print(f"\n{result.explanation}")
    print("wrote " + " and ".join(str(p) for p in paths))
    return 0
