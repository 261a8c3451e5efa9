"""What the user chose (zoo, references, field options, working set), kept in the URL so a reload or a shared link
shows the same thing.

The address is untrusted input (anyone who can open the page can edit it), so :func:`read_query` checks it the way
the CLI's parser checks arguments: each value that cannot be used gives one message and its setting's default.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gifviz.app.serving import ServingPolicy, ServingRefused, shorten
from gifviz.config import BASELINES, DEVICES, OUTPUT_TARGETS, FieldConfig
from gifviz.constants import DISTANCE_METHODS, METRICS, builtin_root

DEFAULT_FAMILY = "lineage"
# Targets the app offers. Layer targets need a layer name, ``label`` needs labelled references and ``topk_map`` dense
# outputs: none of which a folder of reference images and a classifier zoo give.
APP_TARGETS = tuple(target for target in OUTPUT_TARGETS if target not in ("label", "topk_map"))
# The smallest value of each count: one reference image; two path steps (one step has no path to integrate along).
MINIMUM = {"n_refs": 1, "steps": 2}
# A whole number of more digits than this is beyond every cap; refusing it before int() keeps a megabyte of digits
# from costing the server anything (Python's int() of a long string is quadratic).
MAX_DIGITS = 12
# Longest working-set value read (a few hundred model ids); longer is refused as a whole.
MAX_MODELS_CHARS = 16_384
# Settings the address once held and no longer may: the value is ignored with this message.
RETIRED = {
    "cache_dir": "cache_dir is not a setting of the address: this server's field store is its operator's choice "
    "(GIFVIZ_HOME); ignored",
}
CHOICES = {"baseline": BASELINES, "target": APP_TARGETS, "device": DEVICES, "method": DISTANCE_METHODS,
           "metric": METRICS}  # fmt: skip


def builtin_manifest() -> str:
    return str(builtin_root() / "builtin" / "zoo.toml")


@dataclasses.dataclass(frozen=True)
class AppSettings:
    """Every choice that changes what the app computes or shows.

    The field store's folder is not among them: it is the server's (``$GIFVIZ_HOME``), never the address's.

    Attributes:
        manifest: zoo manifest path (default: the built-in zoo).
        refs: reference image folder (``None``: the manifest's own).
        n_refs, steps, baseline, target, device: the field settings (see :class:`gifviz.FieldConfig`).
        method: the distance method of the Distances, Map and Clusters pages (``modelgif`` or a peer's name).
        metric: ModelGiF's distance variant.
        models: the working set of model ids (empty: the default family of the built-in zoo, or all models).
    """

    manifest: str = dataclasses.field(default_factory=builtin_manifest)
    refs: str | None = None
    n_refs: int = 128
    steps: int = 4
    baseline: str = "zeros"
    target: str = "predicted"
    device: str = "auto"
    method: str = "modelgif"
    metric: str = "cosine"
    models: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> AppSettings:
        """A copy with ``changes`` applied (the settings are frozen)."""
        return dataclasses.replace(self, **changes)

    def field_config(self) -> FieldConfig:
        return FieldConfig(steps=self.steps, baseline=self.baseline, target=self.target, device=self.device)

    def to_query(self) -> dict[str, str]:
        """Only what differs from the defaults, as strings (lists comma-joined)."""
        default = AppSettings()
        query = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == getattr(default, field.name):
                continue
            query[field.name] = ",".join(value) if isinstance(value, tuple) else str(value)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str], policy: ServingPolicy | None = None) -> AppSettings:
        """Inverse of :meth:`to_query`: :func:`read_query`'s settings, its messages dropped."""
        return read_query(query, policy).settings

    def manifest_exists(self) -> bool:
        return Path(self.manifest).is_file()


@dataclasses.dataclass(frozen=True)
class QueryReading:
    """The settings an address asks for, after checking: each unusable value replaced by its default.

    Attributes:
        settings: what the app uses.
        messages: one line per refused value, naming the setting, what is wrong and what is used instead.
    """

    settings: AppSettings
    messages: tuple[str, ...] = ()


def read_query(query: Mapping[str, str], policy: ServingPolicy | None = None) -> QueryReading:
    """Check every setting of an address (``query``: key -> value) against the app's choices and the operator's
    ``policy`` (default: the environment's). Never raises: an unusable value gives a message and its default.

    Paths must lie inside the policy's allowed roots and exist; counts must be whole numbers within their minimum and
    the operator's caps; names must be one of their choices. Keys the app does not know are ignored (other parts of
    the address are not settings), except retired ones, which are named.
    """
    policy = policy if policy is not None else ServingPolicy.from_environment()
    default = AppSettings()
    values: dict[str, Any] = {}
    messages: list[str] = []
    for name, message in RETIRED.items():
        if name in query:
            messages.append(message)
    for field in dataclasses.fields(AppSettings):
        if field.name not in query:
            continue
        text = str(query[field.name])
        try:
            value = READERS[field.name](field.name, text, policy)
        except ServingRefused as error:
            messages.append(f"{error}; using {_shown_default(getattr(default, field.name))}")
            continue
        if value is not None:
            values[field.name] = value
    return QueryReading(default.replace(**values), tuple(messages))


def _shown_default(value: Any) -> str:
    if value is None:
        return "the manifest's own references"
    if isinstance(value, tuple):
        return "the default working set" if not value else ",".join(value)
    if isinstance(value, str) and value == builtin_manifest():
        return "the built-in zoo"
    return str(value)


def _path(kind: str) -> Callable[[str, str, ServingPolicy], str | None]:
    """A reader for a path setting that must name an existing ``kind`` (``file`` or ``folder``) in an allowed root."""

    def read(name: str, text: str, policy: ServingPolicy) -> str | None:
        if not text:
            return None
        resolved = policy.confine(text, name)
        if not (resolved.is_file() if kind == "file" else resolved.is_dir()):
            raise ServingRefused(f"{name} {shorten(text)} is not an existing {kind}")
        return text  # as written: the address round-trips; every open confines it again

    return read


def _whole(name: str, text: str, policy: ServingPolicy) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text, flags=re.ASCII):
        raise ServingRefused(f"{name}={shorten(text)} is not a whole number")
    if len(text.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        # Decided from the sign alone: no int() of a string that may be megabytes long.
        if text.startswith("-"):
            raise ServingRefused(f"{name}={shorten(text)} must be at least {MINIMUM[name]}")
        raise ServingRefused(f"{name}={shorten(text)} is far over this server's limit")
    value = int(text)
    if value < MINIMUM[name]:
        raise ServingRefused(f"{name}={shorten(text)} must be at least {MINIMUM[name]}")
    policy.check_cap(name, value)
    return value


def _choice(name: str, text: str, policy: ServingPolicy) -> str:
    if text not in CHOICES[name]:
        raise ServingRefused(f"{name}={shorten(text)} is not one of {', '.join(CHOICES[name])}")
    return text


def _models(name: str, text: str, policy: ServingPolicy) -> tuple[str, ...]:
    """Model ids, comma-separated; duplicates dropped. Whether the zoo has them is checked once it is open."""
    if len(text) > MAX_MODELS_CHARS:
        raise ServingRefused(f"models: a list of {len(text)} characters is longer than any working set")
    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    policy.check_cap(name, len(ids))
    return ids


READERS: dict[str, Callable[[str, str, ServingPolicy], Any]] = {
    "manifest": _path("file"),
    "refs": _path("folder"),
    "n_refs": _whole,
    "steps": _whole,
    **{name: _choice for name in CHOICES},
    "models": _models,
}
