"""``gifviz cache ls | du | verify | gc``: look after the field store."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING

from gifviz.cli.table import format_table

if TYPE_CHECKING:  # imported when a command runs: the parser, and so every --help, stays light
    from gifviz.store import FieldStore


_ACTIONS = {  # action: its one-line help
    "ls": "one line per stored field, most recently used first",
    "du": "fields and bytes in the store",
    "verify": "check every blob against its checksum (bad ones are removed)",
    "gc": "re-index good blobs without a row; remove unusable blobs, stale partial files and rows without a blob; "
    "apply the size limit",
}


def register(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser(
        "cache",
        help="list, measure, verify and clean the field store",
        description="List, measure, verify and clean the field store (the cache of computed fields).",
    )
    cache.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: $GIFVIZ_HOME or ~/.cache/gifviz)")
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    handlers = {"ls": run_ls, "du": run_du, "verify": run_verify, "gc": run_gc}
    for name, text in _ACTIONS.items():
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        action.set_defaults(handler=handlers[name])
        if name == "ls":
            action.add_argument("--json", action="store_true", help="JSON lines instead of a table")
        if name == "verify":
            action.add_argument(
                "--repair",
                action="store_true",
                help="also rebuild a corrupt index from the blobs, index blobs that have no row and drop rows "
                "whose blob is gone (no valid field is lost)",
            )


def _store(args: argparse.Namespace) -> FieldStore:
    import sys

    from gifviz.store import FieldStore

    # A corrupt index is moved aside and rebuilt on opening; the warning must reach the user.
    return FieldStore(args.cache_dir, notify=lambda message: print(f"gifviz: warning: {message}", file=sys.stderr))


def run_ls(args: argparse.Namespace) -> int:
    records = _store(args).records()
    if args.json:
        for record in records:
            print(json.dumps(record.__dict__, sort_keys=True))
        return 0
    rows = [
        [
            r.key[:12],
            r.model_id,
            r.shape,
            r.dtype,
            f"{r.bytes / 2**20:.2f} MiB",
            f"{r.compute_seconds:.1f} s",
            dt.datetime.fromtimestamp(r.last_used).strftime("%Y-%m-%d %H:%M"),
            json.loads(r.config_json)["steps"],
        ]
        for r in records
    ]
    print(format_table(["key", "model", "N x S x D", "dtype", "size", "compute", "last used", "steps"], rows))
    return 0


def run_du(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.records()
    limit = f", limit {store.max_bytes / 2**30:.2f} GiB" if store.max_bytes else ""
    print(f"{len(records)} field(s), {store.total_bytes() / 2**20:.2f} MiB in {store.home}{limit}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.repair:
        print(store.repair().describe())
        return 0
    checked, problems = store.verify()
    for problem in problems:
        print(f"bad: {problem}")
    print(f"{checked} field(s) checked, {len(problems)} bad (removed; they are recomputed when next needed)")
    return 1 if problems else 0


def run_gc(args: argparse.Namespace) -> int:
    print(_store(args).gc().describe())
    return 0
