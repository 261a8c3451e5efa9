"""The operator's serving policy: what a visitor of a shared gifviz app may make the server open, run and spend.

A team serves the app from one machine; everyone who can open the page can edit its address. So the address and the
uploads are untrusted input, and the operator (whoever starts ``streamlit run``) sets the limits, through the
environment or a TOML file named by ``GIFVIZ_SERVING_CONFIG``:

===========================  =====================  ==========  =====================================================
environment variable         TOML key (``[serving]``) default   meaning
===========================  =====================  ==========  =====================================================
``GIFVIZ_ALLOWED_ROOTS``     ``allowed_roots``      (none)      extra folders (``os.pathsep``-separated in the
                                                                environment, a list in TOML) whose manifests and
                                                                reference folders the address may name; the built-in
                                                                zoo and ``GIFVIZ_HOME`` are always allowed
``GIFVIZ_ALLOW_CODE``        ``allow_code``         ``false``   load sources that run code chosen by a file's author
                                                                (``hub:``, ``.pt2`` files, unreviewed schemes)
``GIFVIZ_MAX_REFS``          ``max_refs``           1024        reference images N per request
``GIFVIZ_MAX_STEPS``         ``max_steps``          100         path steps S per request
``GIFVIZ_MAX_MODELS``        ``max_models``         100         models named in the address
``GIFVIZ_MAX_SECONDS``       ``max_seconds``        600         computing per request: refused above, stopped at
``GIFVIZ_CONFIRM_SECONDS``   ``confirm_seconds``    60          estimated computing that asks the visitor first
``GIFVIZ_MAX_UPLOAD_MB``     ``max_upload_mb``      200         one uploaded file (keep Streamlit's
                                                                ``server.maxUploadSize`` at least this large)
===========================  =====================  ==========  =====================================================

An environment variable overrides the same key of the file. A value the policy cannot use raises
:class:`~gifviz.errors.ConfigError` naming the variable; the app then shows it and serves the defaults, which are the
strict choice. This module knows nothing of Streamlit: the settings parser, the resources and the tests use it alike.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gifviz.constants import builtin_root
from gifviz.errors import ConfigError, GifvizError

if TYPE_CHECKING:  # the spec module imports torch; the policy is read before any model is
    from gifviz.hub.spec import ModelSpec

CONFIG_VARIABLE = "GIFVIZ_SERVING_CONFIG"
ROOTS_VARIABLE = "GIFVIZ_ALLOWED_ROOTS"
CODE_VARIABLE = "GIFVIZ_ALLOW_CODE"
# Policy field -> its environment variable (the TOML key is the field's name).
LIMIT_VARIABLES = {
    "max_refs": "GIFVIZ_MAX_REFS",
    "max_steps": "GIFVIZ_MAX_STEPS",
    "max_models": "GIFVIZ_MAX_MODELS",
    "max_seconds": "GIFVIZ_MAX_SECONDS",
    "confirm_seconds": "GIFVIZ_CONFIRM_SECONDS",
    "max_upload_mb": "GIFVIZ_MAX_UPLOAD_MB",
}
# Longer than any path a file system takes (PATH_MAX is 4096 on Linux): a longer value is refused before it is
# resolved, so a page address cannot make the server walk a huge string.
MAX_PATH_CHARS = 4096

# Source schemes reviewed for serving: loading them runs no code that the model's author chose.
#   file:        TorchScript archives (their own TorchScript program, run by torch's interpreter: no Python),
#                torch.save state dicts (torch.load(weights_only=True)), safetensors; ``.pt2`` is the exception below
#   torchvision: torchvision's own code; weights downloaded from download.pytorch.org, read with weights_only=True
#   builtin:     the zoo shipped with gifviz (safetensors)
#   hf, timm:    config.json (JSON) and safetensors from the Hugging Face Hub, networks built by gifviz or timm
# Any other scheme (``hub:`` runs a folder's hubconf.py; a scheme added later and not reviewed here) is code-running.
# ``api:`` is left out on purpose: it runs no author's code, but it makes the server send requests to any URL a
# visitor's manifest names (internal services included: request forgery) and spend that service's queries, so only an
# operator who allows unreviewed sources (GIFVIZ_ALLOW_CODE=1) serves it.
REVIEWED_SCHEMES = ("file", "torchvision", "builtin", "hf", "timm")
# torch.export.load unpickles payloads of a .pt2 archive with torch.load(weights_only=False) when the archive marks
# them "use_pickle" (torch 2.14: torch/export/pt2_archive/_package.py), so a crafted .pt2 runs arbitrary Python.
CODE_RUNNING_SUFFIXES = (".pt2",)


class ServingRefused(GifvizError):  # noqa: N818 (reads as what happened: "raise ServingRefused")
    """A request the server's operator does not allow: a path outside the allowed roots, a code-running source, a
    value beyond a cost cap, an upload that is too large or not what it claims to be."""


@dataclasses.dataclass(frozen=True)
class ServingPolicy:
    """What a visitor of the app may make the server do.

    Attributes:
        roots: folders whose files the address may name (resolved; the built-in zoo and ``GIFVIZ_HOME`` first).
        allow_code: whether code-running sources load (``hub:``, ``.pt2``, unreviewed schemes).
        max_refs: reference images N per request.
        max_steps: path steps S per request.
        max_models: models named in the address.
        max_seconds: seconds of field computing per request (estimated before, enforced while running).
        confirm_seconds: estimated seconds above which a page asks the visitor before it computes.
        max_upload_mb: size of one uploaded file, in MiB.
    """

    roots: tuple[Path, ...] = ()
    allow_code: bool = False
    max_refs: int = 1024
    max_steps: int = 100
    max_models: int = 100
    max_seconds: float = 600.0
    confirm_seconds: float = 60.0
    max_upload_mb: float = 200.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServingPolicy:
        """The policy the operator set: ``GIFVIZ_SERVING_CONFIG``'s ``[serving]`` table, then the environment
        variables over it. Raises :class:`ConfigError` naming the variable or key that holds an unusable value."""
        environ = os.environ if environ is None else environ
        values = _config_file(environ.get(CONFIG_VARIABLE, "").strip())
        if environ.get(ROOTS_VARIABLE, "").strip():
            values["allowed_roots"] = [part for part in environ[ROOTS_VARIABLE].split(os.pathsep) if part.strip()]
        if environ.get(CODE_VARIABLE, "").strip():
            values["allow_code"] = _flag(environ[CODE_VARIABLE], CODE_VARIABLE)
        for name, variable in LIMIT_VARIABLES.items():
            if environ.get(variable, "").strip():
                values[name] = environ[variable].strip()
        home = environ.get("GIFVIZ_HOME") or str(Path.home() / ".cache" / "gifviz")  # gifviz.store.default_home
        builtin = environ.get("GIFVIZ_BUILTIN_ZOO") or str(builtin_root())
        extra = [_root(text) for text in values.pop("allowed_roots", [])]
        limits = {name: _limit(values.pop(name), name) for name in LIMIT_VARIABLES if name in values}
        policy = cls(
            roots=tuple(dict.fromkeys(_resolved(Path(p)) for p in (builtin, home, *extra))),
            allow_code=bool(values.pop("allow_code", False)),
            **limits,
        )
        if values:
            raise ConfigError(
                f"{CONFIG_VARIABLE}: unknown key(s) {', '.join(sorted(values))} in [serving]; known: allowed_roots, "
                f"allow_code, {', '.join(LIMIT_VARIABLES)}"
            )
        return policy

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    def confine(self, path: str | Path, what: str) -> Path:
        """``path`` with symlinks and ``..`` resolved, when that lies inside one of :attr:`roots`; otherwise
        :class:`ServingRefused` naming ``what`` (the setting) and where it may point instead.

        The check is on the resolved path, so neither ``..`` nor a symlink inside a root can lead out of it.
        Relative paths are taken from the server's working folder, as the app's own default manifest is.
        """
        text = str(path)
        if len(text) > MAX_PATH_CHARS or "\x00" in text:
            raise ServingRefused(f"{what}: a path of {len(text)} characters (or with a NUL byte) is not a path")
        resolved = _resolved(Path(text))
        if any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            return resolved
        raise ServingRefused(
            f"{what} {shorten(text)} is outside the folders this server opens (the built-in zoo, GIFVIZ_HOME and "
            f"the operator's {ROOTS_VARIABLE}); choose one inside them"
        )

    def code_running(self, spec: ModelSpec) -> str | None:
        """Why loading ``spec`` would run code its author chose (``None``: a reviewed, code-free source)."""
        if spec.kind == "hub":
            return f"its source {shorten(spec.source)} runs that folder's hubconf.py"
        if spec.kind == "api":
            return f"its source {shorten(spec.source)} makes this server send requests to a URL the manifest names"
        if spec.kind not in REVIEWED_SCHEMES:
            return f"its source scheme {spec.kind}: is not reviewed for serving"
        path = spec.path
        if path is not None and path.suffix.lower() in CODE_RUNNING_SUFFIXES:
            return f"{path.name} is a torch.export program, and loading one can unpickle arbitrary Python"
        return None

    def refuse_code(self, specs: tuple[ModelSpec, ...] | list[ModelSpec], where: str) -> None:
        """Raise :class:`ServingRefused` naming the first code-running model of ``specs`` (from ``where``), unless
        the operator allows code; one message names the model, why, and the setting that would allow it."""
        if self.allow_code:
            return
        for spec in specs:
            reason = self.code_running(spec)
            if reason:
                raise ServingRefused(
                    f"model {spec.id!r} of {where}: {reason}; this server does not load such sources "
                    f"(its operator can allow them with {CODE_VARIABLE}=1)"
                )

    def check_cap(self, name: str, value: int) -> None:
        """Raise :class:`ServingRefused` when ``value`` of ``name`` (``n_refs``, ``steps`` or ``models``) is over the
        operator's cap, naming the cap and its variable."""
        field, noun = CAPS[name]
        cap = getattr(self, field)
        if value > cap:
            raise ServingRefused(
                f"{name}={value} is over this server's limit of {cap} {noun} per request ({LIMIT_VARIABLES[field]})"
            )

    def check_seconds(self, estimate: float) -> None:
        """Raise :class:`ServingRefused` when computing is estimated to take longer than :attr:`max_seconds`."""
        if estimate > self.max_seconds:
            raise ServingRefused(
                f"this view needs about {estimate:,.0f} s of computing, over this server's limit of "
                f"{self.max_seconds:,.0f} s per request ({LIMIT_VARIABLES['max_seconds']}); choose fewer models, "
                "reference images or steps on the Settings and Hub pages"
            )

    def needs_confirmation(self, estimate: float) -> bool:
        """Whether computing for about ``estimate`` seconds should first ask the visitor."""
        return estimate > self.confirm_seconds

    def describe(self) -> str:
        """One line for the Settings page: the limits a visitor works under."""
        code = "allowed" if self.allow_code else "refused"
        return (
            f"This server's limits per request: N ≤ {self.max_refs} references, S ≤ {self.max_steps} steps, "
            f"≤ {self.max_models} models in the address, ≤ {self.max_seconds:,.0f} s of computing (asks first above "
            f"{self.confirm_seconds:,.0f} s); uploads ≤ {size_text(self.max_upload_bytes)}; code-running model sources "
            f"{code}."
        )


# Address setting -> (policy field, what it counts).
CAPS = {"n_refs": ("max_refs", "reference images"), "steps": ("max_steps", "steps"), "models": ("max_models", "models")}


def size_text(n_bytes: float) -> str:
    """``n_bytes`` for a message: ``"200 MiB"``, ``"12.5 KiB"`` or ``"100 bytes"``."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.3g} {unit}"
    return f"{n_bytes:,.0f} bytes"


def shorten(text: str, limit: int = 80) -> str:
    """``text`` for a message: repr-quoted, and cut to ``limit`` characters (a hostile address can be megabytes)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _resolved(path: Path) -> Path:
    # realpath, not Path.resolve(strict=True): a path that does not exist yet is still checked by where it would be.
    return Path(os.path.realpath(path))


def _root(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{ROOTS_VARIABLE}/allowed_roots: {text!r} is not a folder path")
    if not Path(text).is_absolute():
        raise ConfigError(f"{ROOTS_VARIABLE}/allowed_roots: {text!r} is relative; give absolute folder paths")
    return text


def _flag(text: Any, name: str) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={text!r}: use 1 (allow) or 0 (refuse)")


def _limit(text: Any, name: str) -> Any:
    """A cap from the environment or the file: a positive number (a whole one for counts)."""
    variable = LIMIT_VARIABLES[name]
    whole = name in ("max_refs", "max_steps", "max_models")
    try:
        value = float(text) if not isinstance(text, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0 or (whole and value != int(value)):
        kind = "a positive whole number" if whole else "a positive number"
        raise ConfigError(f"{variable}={text!r} (or {name} in {CONFIG_VARIABLE}): set it to {kind}")
    return int(value) if whole else value


def _config_file(path: str) -> dict[str, Any]:
    """The ``[serving]`` table of the operator's TOML file (empty when none is named)."""
    if not path:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{CONFIG_VARIABLE}={path}: cannot be read as TOML ({error})") from None
    table = data.get("serving", {})
    if not isinstance(table, dict) or set(data) - {"serving"}:
        raise ConfigError(f"{CONFIG_VARIABLE}={path}: put the settings in one [serving] table")
    if "allowed_roots" in table and not isinstance(table["allowed_roots"], list):
        raise ConfigError(f"{CONFIG_VARIABLE}={path}: allowed_roots must be a list of folder paths")
    if "allow_code" in table:
        table["allow_code"] = _flag(table["allow_code"], f"allow_code in {path}")
    return dict(table)
