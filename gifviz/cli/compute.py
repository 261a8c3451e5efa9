"""``gifviz distances`` and ``gifviz field``: compute fields of a zoo and export them."""

from __future__ import annotations

import argparse
import sys

from gifviz.cli.options import (
    add_field_options,
    add_metric_option,
    add_reference_options,
    add_store_options,
    config_from_args,
    model_ids_from_args,
    references_from_args,
    store_from_args,
)
from gifviz.cli.progress import TerminalProgress
from gifviz.errors import GifvizError
from gifviz.fieldio import save_field_npz
from gifviz.hub.zoo import Zoo
from gifviz.jobs import RunSummary, store_fields, zoo_distances, zoo_sketch_distances
from gifviz.pipeline import check_model
from gifviz.sketch import SKETCH_DIM


def register(commands: argparse._SubParsersAction) -> None:
    distances = commands.add_parser(
        "distances",
        help="pairwise field distances of a zoo, as CSV (+ provenance JSON)",
        description="Compute every model's gradient field on the reference images and write the pairwise distance "
        "matrix as CSV, with a provenance sidecar <out>.json (gifviz version, FieldConfig, references, digests).",
    )
    distances.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    distances.add_argument("--out", required=True, metavar="D.csv", help="CSV to write")
    distances.add_argument("--models", metavar="ID,ID,...", help="only these models (default: all)")
    distances.add_argument("--quiet", action="store_true", help="no progress bars")
    distances.add_argument(
        "--skip-bad", action="store_true",
        help="leave out models that fail to load or give unusable outputs (each reported on stderr); default: stop",
    )  # fmt: skip
    distances.add_argument(
        "--sketch", type=int, nargs="?", const=SKETCH_DIM, metavar="DIM",
        help=f"approximate cosine distances from CountSketches of the fields (default dimension {SKETCH_DIM}); "
        "memory holds one field at a time, for zoos of many thousands of models",
    )  # fmt: skip
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


def run_distances(args: argparse.Namespace) -> int:
    zoo = Zoo.open(args.zoo)
    config = config_from_args(args)
    ids = model_ids_from_args(zoo, args.models)
    references = references_from_args(zoo, args)
    for model_id in list(ids):  # a bad model is found before any long computation
        try:
            check_model(zoo, model_id, references, config)
        except GifvizError as error:
            if not args.skip_bad:
                raise
            print(f"gifviz: skipped: {error}", file=sys.stderr)
            ids.remove(model_id)
    if not ids:
        raise GifvizError("no model of the zoo could be used; see the messages above")
    summary = RunSummary()
    if args.sketch is not None:  # --sketch 0 must reach the clear "too small" error, not fall back to exact
        if args.metric != "cosine":
            raise GifvizError("--sketch approximates the cosine distance; drop --metric or --sketch")
        matrix = zoo_sketch_distances(zoo, references, config, ids, store_from_args(args), dim=args.sketch,
                                      progress=TerminalProgress(not args.quiet), summary=summary)  # fmt: skip
    else:
        matrix = zoo_distances(
            zoo, references, config, ids, args.metric, store_from_args(args), executor=args.executor,
            address=args.address, progress=TerminalProgress(not args.quiet), summary=summary,
        )  # fmt: skip
    csv_path, sidecar = matrix.to_csv(args.out)
    print(f"wrote {csv_path} ({len(ids)} models, N={len(references)}, S={config.steps}) and {sidecar}")
    print(f"fields: {len(summary.computed)} computed, {len(summary.hits)} from the cache")
    return 0


def run_compute(args: argparse.Namespace) -> int:
    zoo = Zoo.open(args.zoo)
    config = config_from_args(args)
    ids = model_ids_from_args(zoo, args.models)
    references = references_from_args(zoo, args)
    store = store_from_args(args)
    if store is None:
        raise GifvizError("gifviz compute fills the field store: it cannot run with --no-cache or without a cache")
    for model_id in ids:
        check_model(zoo, model_id, references, config)
    summary = RunSummary()
    store_fields(zoo, references, config, ids, store, executor=args.executor, address=args.address,
                 progress=TerminalProgress(not args.quiet), summary=summary)  # fmt: skip
    print(f"{len(summary.computed)} field(s) computed, {len(summary.hits)} already in {store.home}")
    return 0


def run_field(args: argparse.Namespace) -> int:
    zoo = Zoo.open(args.zoo)
    config = config_from_args(args)
    references = references_from_args(zoo, args)
    check_model(zoo, args.model_id, references, config)
    model = zoo.load(args.model_id)
    fields = store_fields(zoo, references, config, [args.model_id], store_from_args(args),
                          progress=TerminalProgress(not args.quiet))  # fmt: skip
    field = fields[args.model_id]
    path = save_field_npz(field, args.out, {"model_digest": model.digest, "reference_digest": references.digest()})
    n, s, d = field.shape
    print(f"wrote {path} (field of {args.model_id}: N={n}, S={s}, D={d})")
    return 0
