"""Errors meant for users.

Every problem a user can fix (a bad file, a wrong option, an input that does not fit) is raised as a
:class:`GifvizError`. The CLI prints it as one line and exits with status 2; the app shows it with ``st.error``.
Anything else that escapes is a bug in gifviz and keeps its traceback.
"""

from __future__ import annotations


class GifvizError(Exception):
    """A problem in the user's input, with a message that says what is wrong and how to fix it."""


class ManifestError(GifvizError):
    """The zoo manifest (TOML) is malformed or names something that does not exist."""


class ModelLoadError(GifvizError):
    """A model file or source could not be loaded."""


class ModelOutputError(GifvizError):
    """A model's output does not fit the requested target rule (shape, NaN, ...)."""


class ReferenceSetError(GifvizError):
    """Reference images are missing, undecodable or too few."""


class ConfigError(GifvizError):
    """A field or distance option has a value gifviz does not accept."""


class Cancelled(Exception):  # noqa: N818 (reads as what happened: "raise Cancelled")
    """A long computation was stopped by the user (through ``should_stop``).

    Not a :class:`GifvizError`: a stop is the user's choice, not a fault in their input, so nothing that reports or
    skips bad input (the CLI's error line, ``--skip-bad``, a testbed's failed method) may swallow it.
    """


class NonFiniteFieldError(ModelOutputError):
    """A model's input gradients are NaN or infinite on the reference paths (e.g. ``sqrt`` or ``log`` at 0), so its
    field cannot be compared; ``--skip-bad`` leaves such a model out."""
