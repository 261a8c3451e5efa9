"""The ``gifviz`` command line. Every user error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gifviz import __version__
from gifviz.cli import bench, cache, compute, hub, zoo
from gifviz.errors import GifvizError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gifviz",
        description="Measure how functionally close trained networks are by their Model Gradient Fields.",
    )
    parser.add_argument("--version", action="version", version=f"gifviz {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    compute.register(commands)
    hub.register(commands)
    zoo.register(commands)
    cache.register(commands)
    bench.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except GifvizError as error:
        print(f"gifviz: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gifviz: stopped by the user; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
