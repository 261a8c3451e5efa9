"""Options shared by the commands that compute fields, and turning them into library objects."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gifviz.cli.choices import EXECUTORS, METRICS
from gifviz.config import (
    AUTOCASTS,
    BASELINES,
    CHANNEL_REDUCTIONS,
    DEFAULT_QUERIES,
    DEVICES,
    DTYPES,
    GRADIENTS,
    RULES,
    TARGETS,
    FieldConfig,
)
from gifviz.errors import ConfigError, ReferenceSetError

if TYPE_CHECKING:  # the parser is built without torch; these are imported where a command runs
    from gifviz.hub.zoo import Zoo
    from gifviz.refs import ReferenceSet
    from gifviz.store import FieldStore

_DEFAULT = FieldConfig()


def _pool(text: str) -> tuple[int, int]:
    parts = text.lower().replace("x", " ").split()
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--pool takes H or HxW, e.g. 8 or 8x8; got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"--pool takes H or HxW; got {text!r}")
    return values[0], values[1]


def add_reference_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reference inputs")
    group.add_argument(
        "--refs",
        metavar="DIR",
        help="folder of PNG/JPEG reference images, taken in sorted file-name order "
        "(default: the manifest's 'references')",
    )
    group.add_argument("--n-refs", type=int, metavar="N", help="use the first N images (default: all)")


def add_field_options(parser: argparse.ArgumentParser) -> None:
    """The FieldConfig options (defaults are FieldConfig's)."""
    group = parser.add_argument_group("field")
    group.add_argument("--steps", type=int, default=_DEFAULT.steps, metavar="S", help="path points per input")
    group.add_argument("--rule", choices=RULES, default=_DEFAULT.rule, help="captum integration rule")
    group.add_argument("--baseline", choices=BASELINES, default=_DEFAULT.baseline, help="path start per input")
    group.add_argument("--blur-sigma", type=float, default=_DEFAULT.blur_sigma, help="pixels, for --baseline blur")
    group.add_argument("--target", choices=TARGETS, default=_DEFAULT.target, help="scalar differentiated")
    group.add_argument("--label-class", type=int, help="class for --target label (no default: that target needs it)")
    group.add_argument("--topk", type=int, default=_DEFAULT.topk, help="k for topk_map / topk_features")
    group.add_argument(
        "--layer",
        help="module name for layer targets (channel_max, topk_features), or 'penultimate' (each model's own: its "
        "backbone, else the child before its head); no default: those targets need it",
    )
    group.add_argument("--raw", action="store_true", help="raw gradients per point instead of cumulative IG")
    group.add_argument(
        "--channel-reduction",
        choices=CHANNEL_REDUCTIONS,
        default=_DEFAULT.channel_reduction,
        help="average the field over input channels",
    )
    group.add_argument(
        "--pool", type=_pool, metavar="HxW", help="average-pool each map to this grid (default: full resolution)"
    )
    group.add_argument("--batch-size", type=int, default=_DEFAULT.batch_size, help="path points per chunk")
    group.add_argument("--device", choices=DEVICES, default=_DEFAULT.device, help="auto: CUDA when present")
    group.add_argument("--dtype", choices=DTYPES, default=_DEFAULT.dtype, help="computation dtype")
    group.add_argument(
        "--autocast",
        choices=AUTOCASTS,
        default=_DEFAULT.autocast,
        help="mixed precision for the model (GPU speed; changes distances slightly)",
    )
    group.add_argument("--channels-last", action="store_true", help="NHWC layout for convolutions (GPU speed)")
    group.add_argument("--seed", type=int, default=_DEFAULT.seed, help="seed of the noise/shuffle baselines")
    group.add_argument(
        "--gradient",
        choices=GRADIENTS,
        default=_DEFAULT.gradient,
        help="autograd: backpropagate; zeroth-order: estimate the gradient from model outputs only (models you can "
        'only query: access = "query", api: sources)',
    )
    group.add_argument(
        "--queries",
        type=int,
        metavar="Q",
        help=f"zeroth-order budget: model queries per path point, even (default {DEFAULT_QUERIES}; a field spends "
        "N*S*Q plus its endpoints)",
    )


def add_metric_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", choices=METRICS, default="cosine", help="distance variant")


def config_from_args(args: argparse.Namespace) -> FieldConfig:
    return FieldConfig(
        steps=args.steps,
        rule=args.rule,
        baseline=args.baseline,
        blur_sigma=args.blur_sigma,
        target=args.target,
        label_class=args.label_class,
        topk=args.topk,
        layer=args.layer,
        cumulative=not args.raw,
        channel_reduction=args.channel_reduction,
        pool=args.pool,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        seed=args.seed,
        autocast=args.autocast,
        channels_last=args.channels_last,
        gradient=args.gradient,
        queries=args.queries,
    )


def references_folder(zoo: Zoo, args: argparse.Namespace) -> Path | None:
    """The folder the run takes its reference images from: ``--refs``, else the manifest's."""
    folder = args.refs or zoo.manifest.references
    return Path(folder) if folder is not None else None


def references_from_args(zoo: Zoo, args: argparse.Namespace) -> ReferenceSet:
    from gifviz.refs import load_reference_folder

    folder = references_folder(zoo, args)
    if folder is None:
        raise ReferenceSetError("no reference images: pass --refs DIR or set 'references' in the manifest")
    return load_reference_folder(folder, zoo.space, args.n_refs)


def model_ids_from_args(zoo: Zoo, text: str | None) -> list[str]:
    if not text:
        return list(zoo.ids)
    ids = [part.strip() for part in text.split(",") if part.strip()]
    for model_id in ids:
        zoo.spec(model_id)  # raises with the list of known ids
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--models names a model twice: {text}")
    return ids


def add_store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("field store")
    group.add_argument("--no-cache", action="store_true", help="compute everything, read and write no cache")
    group.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: $GIFVIZ_HOME or ~/.cache/gifviz)")
    group.add_argument("--float16", action="store_true", help="store fields as float16 (half the disk)")
    group.add_argument("--executor", choices=EXECUTORS, default="local", help="where missing fields are computed")
    group.add_argument("--address", help="Ray cluster address for --executor ray (default: start a local one)")


def store_from_args(args: argparse.Namespace) -> FieldStore | None:
    """The field store, or None with one warning line when caching is off or the folder is unusable."""
    import sys

    from gifviz.store import FieldStore, StoreUnavailable

    if args.no_cache:
        return None
    try:
        return FieldStore(
            args.cache_dir, float16=args.float16, notify=lambda m: print(f"gifviz: warning: {m}", file=sys.stderr)
        )
    except StoreUnavailable as error:
        print(f"gifviz: warning: {error}", file=sys.stderr)
        return None
