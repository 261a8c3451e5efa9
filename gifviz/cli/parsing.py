"""The parser class every ``gifviz`` command uses (help that shows each option's default, once), and the option values
several commands read alike."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from gifviz.errors import ConfigError

# A help text that already says what happens by default ("(default: all)") gets no second "(default: None)".
_STATES_DEFAULT = re.compile(r"\bdefault\b", re.IGNORECASE)
# Flags are off unless given; "(default: False)" after each would be noise.
_FLAG_ACTIONS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction, argparse._VersionAction)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the help states its default itself, or the option is a
    flag, or it has no default value (``None``: its help must then say what happens without it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            isinstance(action, _FLAG_ACTIONS)
            or action.default is None
            or action.default is argparse.SUPPRESS
            or _STATES_DEFAULT.search(text)
        ):
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text  # a required positional has no default
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class GifvizParser(argparse.ArgumentParser):
    """An ArgumentParser whose help shows defaults; ``add_subparsers`` makes sub-commands of this class too, so
    every level (``gifviz hub ls --help``) formats its help the same way."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """Repeated ``--tag KEY=VALUE`` options as a dict; one line for a pair without ``=`` or without a key."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--tag takes KEY=VALUE; got {pair!r}")
        tags[key] = value
    return tags


def whole_number(minimum: int) -> Callable[[str], int]:
    """An option's type: a whole number of at least ``minimum`` (argparse turns the error into one usage line)."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}; got {text!r}")
        return int(text)

    return parse
