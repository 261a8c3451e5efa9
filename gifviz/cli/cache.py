"""``gifviz cache ls | du | verify | gc``: look after the field store."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from gifviz.cli.table import format_table
from gifviz.store import FieldStore


def register(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="list, measure, verify and clean the field store")
    cache.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: $GIFVIZ_HOME or ~/.cache/gifviz)")
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", help="one line per stored field, most recently used first")
    ls.add_argument("--json", action="store_true", help="JSON lines")
    ls.set_defaults(handler=run_ls)
    actions.add_parser("du", help="fields and bytes in the store").set_defaults(handler=run_du)
    actions.add_parser("verify", help="check every blob against its checksum (bad ones are removed)").set_defaults(
        handler=run_verify
    )
    actions.add_parser("gc", help="remove orphan blobs, partial files and rows without a blob; apply the size limit")\
        .set_defaults(handler=run_gc)  # fmt: skip


def _store(args: argparse.Namespace) -> FieldStore:
    return FieldStore(args.cache_dir)


def run_ls(args: argparse.Namespace) -> int:
    records = _store(args).records()
    if args.json:
        for record in records:
            print(json.dumps(record.__dict__, sort_keys=True))
        return 0
    rows = [
        [r.key[:12], r.model_id, r.shape, r.dtype, f"{r.bytes / 2**20:.2f} MiB", f"{r.compute_seconds:.1f} s",
         dt.datetime.fromtimestamp(r.last_used).strftime("%Y-%m-%d %H:%M"), json.loads(r.config_json)["steps"]]
        for r in records
    ]  # fmt: skip
    print(format_table(["key", "model", "N x S x D", "dtype", "size", "compute", "last used", "steps"], rows))
    return 0


def run_du(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.records()
    limit = f", limit {store.max_bytes / 2**30:.2f} GiB" if store.max_bytes else ""
    print(f"{len(records)} field(s), {store.total_bytes() / 2**20:.2f} MiB in {store.home}{limit}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    checked, problems = _store(args).verify()
    for problem in problems:
        print(f"bad: {problem}")
    print(f"{checked} field(s) checked, {len(problems)} bad (removed; they are recomputed when next needed)")
    return 1 if problems else 0


def run_gc(args: argparse.Namespace) -> int:
    files, rows = _store(args).gc()
    print(f"removed {files} orphan or partial file(s) and {rows} index row(s) without a blob")
    return 0
