"""The ``gifviz`` command line. Every user error is one line on stderr and exit status 2.

Building the parser imports no torch, torchvision, captum, numpy or pandas: ``gifviz --help`` and ``--version``
answer at once, and each command imports the engine when it runs (see ``benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Sequence

from gifviz._version import __version__
from gifviz.cli import audit, bench, cache, compute, hub, zoo
from gifviz.cli.parsing import GifvizParser
from gifviz.errors import Cancelled, GifvizError

# 128 + SIGPIPE: what the shell reports for any Unix tool whose reader went away (`yes | head -1`), so a script
# with `set -o pipefail` can tell a cut-short listing from a complete one.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    parser = GifvizParser(
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
    audit.register(commands)
    return parser


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it: a BrokenPipeError from elsewhere (a Ray or worker
    connection) is a real failure and keeps its traceback."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
    except (AttributeError, OSError, ValueError):  # no poll (Windows) or no real stdout: trust the error
        return True
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot raise BrokenPipeError again
    (the recipe of Python's ``signal`` documentation)."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (captured in tests): nothing is flushed at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)  # argparse itself ignores a closed pipe under --help
    try:
        return int(args.handler(args) or 0)
    except GifvizError as error:
        print(f"gifviz: error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):  # a stop, not an error: finished fields are already in the store
        print("gifviz: stopped by the user; finished results are kept", file=sys.stderr)
        return 130
    finally:  # output still buffered is written now, inside the BrokenPipeError handler of main()
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:  # the reader (`| head`) stopped early: end quietly, as Unix tools do
        if not _stdout_reader_gone():
            raise
        _silence_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
