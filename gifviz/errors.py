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


class Cancelled(GifvizError):  # noqa: N818 (reads as what happened: "raise Cancelled")
    """A long computation was stopped by the user."""


class NonFiniteFieldError(ModelOutputError):
    """A model's input gradients are NaN or infinite on the reference paths (e.g. ``sqrt`` or ``log`` at 0), so its
    field cannot be compared; ``--skip-bad`` leaves such a model out."""
