"""``gifviz hub ls | show | archs | search``: what is in a zoo, how each model is described, and which models a
zoo could hold (the catalogue of torchvision, timm, the local Hugging Face cache and a folder); ``new | add | remove``
(:mod:`gifviz.cli.hub_edit`) edit a zoo's manifest."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from gifviz.cli import hub_edit
from gifviz.cli.choices import CATALOGUE_SOURCES, SOURCE_SCHEMES
from gifviz.cli.parsing import parse_tags, whole_number
from gifviz.cli.table import format_table
from gifviz.errors import ConfigError

# The handlers import the hub (torch, torchvision) when they run: the parser, and so every --help, stays light.


def register(commands: argparse._SubParsersAction) -> None:
    hub = commands.add_parser(
        "hub",
        help="list, describe and edit the models of a zoo",
        description="List, describe and edit the models of a zoo.",
    )
    actions = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "ls",
        help="one line per model: id, source, arch, params, task, tags",
        description="Load every model of the zoo and list it. Models that fail to load are listed with their error "
        "(on stderr); the exit status is then 1, the others are still listed.",
    )
    listing.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    listing.add_argument("--task", help="only this task (default: every task)")
    listing.add_argument("--arch", help="only this architecture (default: every architecture)")
    listing.add_argument("--source", choices=SOURCE_SCHEMES, help="only this source kind (default: every kind)")
    listing.add_argument("--relation", help="only this lineage relation (default: every relation)")
    listing.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only models with this tag; repeat for several (default: no tag filter)",
    )
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(handler=run_ls)

    show = actions.add_parser(
        "show",
        help="everything known about one model (JSON)",
        description="Load one model of the zoo and print everything known about it as JSON.",
    )
    show.add_argument("zoo", metavar="ZOO.toml", help="zoo manifest")
    show.add_argument("model_id", metavar="ID", help="id of the model in the manifest")
    show.set_defaults(handler=run_show)

    archs = actions.add_parser(
        "archs",
        help="architectures a state dict or safetensors file can name",
        description="List the architecture names a manifest entry's 'arch' can take for weights-only files.",
    )
    archs.set_defaults(handler=run_archs)

    search = actions.add_parser(
        "search",
        help="find models a zoo can hold: torchvision, timm, the Hugging Face cache, a folder",
        description="Search the catalogue: every row's source (usable as a manifest entry's 'source') and title must "
        "contain every word of QUERY. Each row says whether its weights load offline, and why.",
    )
    search.add_argument(
        "query",
        metavar="QUERY",
        nargs="*",
        default=[],
        help="words to look for, e.g. 'resnet18' or 'vit small' (default: every model)",
    )
    search.add_argument(
        "--source",
        type=_catalogue_sources,
        default=",".join(CATALOGUE_SOURCES),
        metavar="LIST",
        help=f"comma-separated catalogue parts among {','.join(CATALOGUE_SOURCES)}; 'folder' needs --folder",
    )
    search.add_argument("--folder", metavar="DIR", help="also list model files under DIR (default: no folder)")
    search.add_argument("--limit", type=whole_number(1), default=30, help="rows to print")
    search.add_argument("--offset", type=whole_number(0), default=0, help="rows to skip (the next page)")
    search.add_argument("--offline", action="store_true", help="only rows whose weights load without a network")
    search.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    search.set_defaults(handler=run_search)
    hub_edit.register(actions)


def _catalogue_sources(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in chosen if part not in CATALOGUE_SOURCES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose among {','.join(CATALOGUE_SOURCES)} (comma-separated); got {text!r}")
    return chosen


def _format_tags(tags: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def run_ls(args: argparse.Namespace) -> int:
    from gifviz.hub.zoo import Zoo

    zoo = Zoo.open(args.zoo)
    specs = zoo.filter(
        task=args.task, arch=args.arch, source=args.source, relation=args.relation, tags=parse_tags(args.tag)
    )
    loaded, errors = zoo.load_available([spec.id for spec in specs])
    by_id = {model.id: model for model in loaded}
    if args.json:
        for spec in specs:
            row = by_id[spec.id].describe() if spec.id in by_id else {**spec.describe(), "error": str(errors[spec.id])}
            print(json.dumps(row, sort_keys=True))
    else:
        rows = []
        for spec in specs:
            model = by_id.get(spec.id)
            rows.append(
                [
                    spec.id,
                    spec.source if spec.kind != "file" else f"file:{spec.path.name if spec.path else ''}",
                    model.arch if model else spec.arch,
                    f"{model.num_params:,}" if model else "LOAD ERROR",
                    spec.task,
                    _format_tags({**spec.tags, **({"relation": spec.relation} if spec.relation else {})}),
                ]
            )
        print(format_table(["id", "source", "arch", "params", "task", "tags"], rows))
        print(f"{len(specs)} model(s) in {zoo.name}" + (f", {len(errors)} failed to load" if errors else ""))
    for error in errors.values():
        print(f"gifviz: error: {error}", file=sys.stderr)
    return 1 if errors else 0


def run_show(args: argparse.Namespace) -> int:
    from gifviz.hub.zoo import Zoo

    zoo = Zoo.open(args.zoo)
    print(json.dumps(zoo.load(args.model_id).describe(), indent=2, sort_keys=True))
    return 0


def run_archs(args: argparse.Namespace) -> int:
    from gifviz.hub.architectures import known_architectures

    print("\n".join(known_architectures()))
    return 0


def run_search(args: argparse.Namespace) -> int:
    from gifviz.hub.catalogue import search_catalogue

    if args.source == ("folder",) and args.folder is None:
        raise ConfigError("--source folder needs --folder DIR, the folder whose model files to list")
    page = search_catalogue(
        " ".join(args.query),
        sources=args.source,
        folder=args.folder,
        offset=args.offset,
        limit=args.limit,
        offline_only=args.offline,
    )
    if args.json:
        for row in page.rows:
            print(json.dumps(dataclasses.asdict(row), sort_keys=True))
        return 0
    rows = [[row.source, row.title, row.origin, "yes" if row.offline else "no", row.why] for row in page.rows]
    print(format_table(["source", "title", "from", "offline", "why"], rows))
    counts = ", ".join(f"{origin} {count}" for origin, count in page.by_origin.items())
    shown = f"{page.offset + 1}-{page.offset + len(page.rows)}" if page.rows else "none"
    more = f"; --offset {page.offset + len(page.rows)} for more" if page.has_more else ""
    print(f"{page.total} match(es) ({counts or 'none'}), showing {shown}{more}")
    return 0
