"""``gifviz distances`` and ``gifviz field``: compute fields of a zoo and export them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gifviz.cli.choices import METHODS, SKETCH_DIM
from gifviz.cli.options import (
    add_field_options,
    add_metric_option,
    add_reference_options,
    add_store_options,
    config_from_args,
    model_ids_from_args,
    references_folder,
    references_from_args,
    store_from_args,
)
from gifviz.errors import GifvizError

# The handlers import the engine (torch, captum) when they run: the parser, and so every --help, stays light.


def register(commands: argparse._SubParsersAction) -> None:
    distances = commands.add_parser(
        "distances",
        help="pairwise distances of a zoo's models (ModelGiF or a peer method), as CSV (+ provenance JSON)",
        description="Compute every model's gradient field on the reference images and write the pairwise distance "
        "matrix as CSV, with a provenance sidecar <out>.json (gifviz version, FieldConfig, references, digests). "
        "--method picks another distance method (a peer) on the same models and references.",
    )
    distances.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    distances.add_argument("--out", required=True, metavar="D.csv", help="CSV to write")
    distances.add_argument("--models", metavar="ID,ID,...", help="only these models (default: all)")
    distances.add_argument("--quiet", action="store_true", help="no progress bars")
    distances.add_argument(
        "--method",
        choices=METHODS,
        default="modelgif",
        help="distance method; the options of the field, the store, --metric, --sketch, --executor and --skip-bad "
        "are ModelGiF's",
    )
    distances.add_argument(
        "--probe",
        metavar="ID",
        help="the model whose owner asks (methods that craft their inputs from a model: modeldiff, sac-w); default: "
        "the first model",
    )
    distances.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out models that fail to load or give unusable outputs (each reported on stderr); default: stop",
    )
    distances.add_argument(
        "--sketch",
        type=int,
        nargs="?",
        const=SKETCH_DIM,
        metavar="DIM",
        help=f"approximate cosine distances from CountSketches of the fields of DIM entries ({SKETCH_DIM} when DIM "
        "is left out); memory holds one field at a time, for zoos of many thousands of models (default: exact)",
    )
    add_reference_options(distances)
    add_field_options(distances)
    add_metric_option(distances)
    add_store_options(distances)
    distances.set_defaults(handler=run_distances)

    compute = commands.add_parser(
        "compute",
        help="fill the field store for every model that has no field yet (resumable)",
        description="Compute and store the field of every model of the zoo that the store does not hold yet, with "
        "progress. Each field is stored as soon as it is done, so an interrupted run resumes where it stopped.",
    )
    compute.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    compute.add_argument("--models", metavar="ID,ID,...", help="only these models (default: all)")
    compute.add_argument("--quiet", action="store_true", help="no progress bars")
    add_reference_options(compute)
    add_field_options(compute)
    add_store_options(compute)
    compute.set_defaults(handler=run_compute)

    field = commands.add_parser(
        "field",
        help="one model's gradient field, as .npz",
        description="Compute one model's gradient field (N, S, D) on the reference images and save it as .npz.",
    )
    field.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    field.add_argument("model_id", metavar="MODEL_ID", help="id of the model in the manifest")
    field.add_argument("--out", required=True, metavar="F.npz", help="file to write")
    field.add_argument("--quiet", action="store_true", help="no progress bar")
    add_reference_options(field)
    add_field_options(field)
    add_store_options(field)
    field.set_defaults(handler=run_field)


def _sidecar(out: str) -> Path:
    return Path(out).with_name(Path(out).name + ".json")


def run_distances(args: argparse.Namespace) -> int:
    from gifviz.cli.guards import check_output_files, run_inputs
    from gifviz.cli.progress import TerminalProgress
    from gifviz.hub.zoo import Zoo
    from gifviz.jobs import RunSummary, zoo_distances, zoo_sketch_distances
    from gifviz.pipeline import check_models

    zoo = Zoo.open(args.zoo)
    check_output_files([args.out, _sidecar(args.out)], run_inputs(zoo, references_folder(zoo, args)))
    config = config_from_args(args)
    ids = model_ids_from_args(zoo, args.models)
    references = references_from_args(zoo, args)
    if args.sketch is not None and args.metric != "cosine":
        raise GifvizError("--sketch approximates the cosine distance; drop --metric or --sketch")
    if args.method != "modelgif":
        return _write_method_distances(args, zoo, ids, references)
    store = store_from_args(args)
    # A bad model is found before any long computation (stored fields need no gradient check).
    for model_id, reason in check_models(zoo, ids, references, config, store, skip_bad=args.skip_bad).items():
        print(f"gifviz: skipped: {reason}", file=sys.stderr)
        ids.remove(model_id)
    if not ids:
        raise GifvizError("no model of the zoo could be used; see the messages above")
    summary = RunSummary()
    if args.sketch is not None:  # --sketch 0 must reach the clear "too small" error, not fall back to exact
        matrix = zoo_sketch_distances(
            zoo,
            references,
            config,
            ids,
            store,
            dim=args.sketch,
            skip_bad=args.skip_bad,
            progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
            summary=summary,
        )
    else:
        matrix = zoo_distances(
            zoo,
            references,
            config,
            ids,
            args.metric,
            store,
            executor=args.executor,
            address=args.address,
            progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
            summary=summary,
            skip_bad=args.skip_bad,
        )
    for reason in summary.skipped.values():  # models whose gradients went bad mid-run
        print(f"gifviz: skipped: {reason}", file=sys.stderr)
    csv_path, sidecar = matrix.to_csv(args.out)
    print(f"wrote {csv_path} ({len(matrix.labels)} models, N={len(references)}, S={config.steps}) and {sidecar}")
    print(f"fields: {summary.describe(str(store.home) if store is not None else None)}")
    return 0


def _write_method_distances(args: argparse.Namespace, zoo, ids: list[str], references) -> int:
    """``gifviz distances --method <peer>``: the same models and references through the peer's signatures."""
    from gifviz.cli.progress import TerminalProgress
    from gifviz.methods import MethodInputs, method_matrix

    field_only = {
        "--metric": args.metric != "cosine",
        "--sketch": args.sketch is not None,
        "--executor": args.executor != "local",
        "--skip-bad": args.skip_bad,
    }
    named = [option for option, given in field_only.items() if given]
    if named:
        raise GifvizError(f"{' and '.join(named)}: for ModelGiF's fields only; drop them or use --method modelgif")
    probe = zoo.load(args.probe) if args.probe else None
    inputs = MethodInputs(references, probe, zoo.space.value_range, args.seed)  # --seed also seeds a peer's choices
    matrix = method_matrix(args.method, zoo, ids, inputs, TerminalProgress(not args.quiet))
    csv_path, sidecar = matrix.to_csv(args.out)
    print(f"wrote {csv_path} ({len(matrix.labels)} models, {args.method}, N={len(references)}) and {sidecar}")
    return 0


def run_compute(args: argparse.Namespace) -> int:
    from gifviz.cli.progress import TerminalProgress
    from gifviz.hub.zoo import Zoo
    from gifviz.jobs import RunSummary, store_fields
    from gifviz.pipeline import check_models

    zoo = Zoo.open(args.zoo)
    config = config_from_args(args)
    ids = model_ids_from_args(zoo, args.models)
    references = references_from_args(zoo, args)
    store = store_from_args(args)
    if store is None:
        raise GifvizError("gifviz compute fills the field store: it cannot run with --no-cache or without a cache")
    check_models(zoo, ids, references, config, store)
    summary = RunSummary()
    store_fields(
        zoo,
        references,
        config,
        ids,
        store,
        executor=args.executor,
        address=args.address,
        progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
        summary=summary,
    )
    print(summary.describe(str(store.home)))
    return 0


def run_field(args: argparse.Namespace) -> int:
    from gifviz.cli.guards import check_output_files, run_inputs
    from gifviz.cli.progress import TerminalProgress
    from gifviz.field.files import save_field_npz
    from gifviz.hub.zoo import Zoo
    from gifviz.jobs import store_fields
    from gifviz.pipeline import check_model

    zoo = Zoo.open(args.zoo)
    zoo.spec(args.model_id)  # an unknown id is the first thing to report
    check_output_files([args.out], run_inputs(zoo, references_folder(zoo, args)))
    config = config_from_args(args)
    references = references_from_args(zoo, args)
    check_model(zoo, args.model_id, references, config)
    model = zoo.load(args.model_id)
    fields = store_fields(
        zoo,
        references,
        config,
        [args.model_id],
        store_from_args(args),
        progress=TerminalProgress(not args.quiet, queries_per_point=config.queries),
    )
    field = fields[args.model_id]
    path = save_field_npz(field, args.out, {"model_digest": model.digest, "reference_digest": references.digest()})
    n, s, d = field.shape
    print(f"wrote {path} (field of {args.model_id}: N={n}, S={s}, D={d})")
    return 0
