"""``gifviz bench ipp|tasks|unlearning|all``: the paper's testbeds for ModelGiF and its peers, as tables and CSV."""

from __future__ import annotations

import argparse
import time

from gifviz.cli.choices import METHODS, QUICK_METHODS, TESTBEDS
from gifviz.cli.options import add_field_options, add_store_options, config_from_args, store_from_args
from gifviz.config import PENULTIMATE
from gifviz.errors import ConfigError

# The handler imports the testbeds (torch, pandas, scikit-learn) when it runs: the parser stays light.
_SWEEP = "8,16,32,64,128,256"


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, e.g. 8,16,32; got {text!r}") from None
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(f"reference counts must be at least 2; got {text!r}")
    return values


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="the IPP, task-relatedness and unlearning testbeds: ModelGiF and its peers side by side",
        # A description is printed as written (argparse %-formats only help strings): a literal 95%, not 95%%.
        description="Score ModelGiF and the peer methods on the zoo's lineage, task and unlearning families. Prints "
        "one table per testbed (value [95% bootstrap interval over references], samples, model evaluations per "
        "model, seconds) and the reference-count sweep, and writes them as CSV.",
    )
    bench.add_argument("testbed", choices=[*TESTBEDS, "all"], help="the testbed to run, or all of them")
    bench.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest with family/relation/parent annotations")
    bench.add_argument(
        "--methods",
        default=",".join(QUICK_METHODS),
        metavar="M,M,...",
        help=f"comma-separated, from: {', '.join(METHODS)}, or 'all'; the default is the quick ones (ZEST alone takes "
        "minutes per model evaluation set)",
    )
    bench.add_argument("--n", type=int, default=128, metavar="N", help="references in the main table")
    bench.add_argument("--sweep", type=_ints, default=_SWEEP, metavar="N,N,...", help="reference counts of the sweep")
    bench.add_argument("--resamples", type=int, default=200, help="bootstrap resamples (0: no intervals)")
    bench.add_argument(
        "--compare-baselines",
        default="",
        metavar="B,B,...",
        help="also run ModelGiF with these baselines, in rows 'modelgif:<baseline>' (default: none)",
    )
    bench.add_argument(
        "--task-layer",
        default=PENULTIMATE,
        help="layer whose channel maxima ModelGiF differentiates in the task testbed (default: each model's "
        "penultimate module, its 'backbone' or the child before its head; '' for the output)",
    )
    bench.add_argument(
        "--out", metavar="DIR", help="write <testbed>.csv, _sweep.csv and _details.csv here (default: print only)"
    )
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    add_field_options(bench)
    add_store_options(bench)
    bench.set_defaults(handler=run_bench, steps=10)


def run_bench(args: argparse.Namespace) -> int:
    from gifviz.bench.report import headline, summary, sweep_text, write_csvs
    from gifviz.bench.suite import RUNNERS, BenchConfig, bench_inputs, check_testbed, unsupported_testbeds
    from gifviz.cli.guards import check_output_dir, run_inputs
    from gifviz.cli.progress import TerminalProgress
    from gifviz.hub.zoo import Zoo

    methods = (
        METHODS if args.methods.strip() == "all" else tuple(m.strip() for m in args.methods.split(",") if m.strip())
    )
    if args.n < 2 or args.resamples < 0:
        raise ConfigError("--n must be at least 2 and --resamples at least 0")
    field = config_from_args(args)
    variants = tuple((b, field.replace(baseline=b)) for b in args.compare_baselines.split(",") if b.strip())
    config = BenchConfig(
        field=field,
        methods=methods,
        n_refs=args.n,
        sweep=args.sweep,
        resamples=args.resamples,
        variants=variants,
        task_layer=args.task_layer or None,
    )
    zoo = Zoo.open(args.zoo)
    if args.out:  # the CSVs of write_csvs, checked before anything runs
        chosen = TESTBEDS if args.testbed == "all" else (args.testbed,)
        names = [f"{testbed}{suffix}.csv" for testbed in chosen for suffix in ("", "_sweep", "_details")]
        check_output_dir(args.out, names, run_inputs(zoo, zoo.manifest.references))
    if args.testbed == "all":  # say up front what this zoo cannot run, instead of failing after a long testbed
        skipped = unsupported_testbeds(zoo)
        for testbed, reason in skipped.items():
            print(f"{testbed}: skipped: {reason}")
        testbeds = tuple(t for t in TESTBEDS if t not in skipped)
        if not testbeds:
            raise ConfigError("no testbed can run on this zoo: " + " | ".join(skipped.values()))
    else:
        check_testbed(zoo, args.testbed)  # missing annotations first: they say more than a missing folder
        testbeds = (args.testbed,)
    inputs = bench_inputs(zoo, config, store_from_args(args))
    for testbed in testbeds:
        started = time.perf_counter()
        result = RUNNERS[testbed](
            inputs, config, TerminalProgress(enabled=not args.quiet, queries_per_point=field.queries)
        )
        print(f"\n{headline(result)} ({time.perf_counter() - started:.1f} s)")
        print(summary(result, intervals=args.resamples > 0).to_string())
        print("\n" + sweep_text(result))
        if args.out:
            for path in write_csvs(result, args.out):
                print(f"wrote {path}")
    return 0
