"""``hf:<org>/<repo>[@<revision>]``: reading a model repo's files through huggingface_hub's cache (loading the model
is :mod:`gifviz.hub.hf_source`'s job, which timm-format repos share with ``timm:`` sources).

Offline first: a file already in the cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``) is used without any network
call. A file that is not cached is downloaded only when ``HF_HUB_OFFLINE`` is unset; otherwise (or when the download
fails) loading stops with one line naming the repo, the file and the ``hf download`` command that fetches it.

Two repo layouts load:

- timm's (``config.json`` with ``architecture``, ``num_classes``, ``pretrained_cfg``, ``label_names``; weights in
  ``model.safetensors``): the network is built by timm, its preprocess and classes come from the config;
- a plain repo holding ``model.safetensors``, with ``arch`` (one of gifviz's architectures) in the manifest entry.

Weights are read as safetensors only: nothing from a repo is ever unpickled.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from gifviz.errors import ModelLoadError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# A Hub repo id: an optional namespace and a name of letters, digits, '-', '_' and '.'.
REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache folder, read from the environment on every call.

    huggingface_hub reads ``HF_HUB_CACHE`` once, when it is imported; reading it here again lets a test, or an app
    that sets it later, point gifviz at another cache.
    """
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.path.expanduser(os.path.expandvars(os.environ[variable])))
    if os.environ.get("HF_HOME"):
        return Path(os.path.expanduser(os.path.expandvars(os.environ["HF_HOME"]))) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) as huggingface_hub reads it, but read on every call."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def parse_hf(source: str) -> tuple[str, str | None]:
    """``hf:<org>/<repo>[@<revision>]`` -> (repo id, revision or None)."""
    body = source.split(":", 1)[1]
    repo_id, _, revision = body.partition("@")
    return repo_id, revision or None


def check_hf_source(source: str) -> str | None:
    """Why ``source`` is not a well-formed ``hf:`` source, or None when it is (used by the manifest parser)."""
    repo_id, revision = parse_hf(source)
    if not REPO_ID.match(repo_id) or "@" in (revision or ""):
        return f"hf sources are 'hf:<org>/<repo>[@<revision>]'; got {source!r}"
    return None


def fetch_command(repo_id: str, revision: str | None = None) -> str:
    """The command that puts the repo in the cache on a machine with a network."""
    return f"hf download {repo_id}" + (f" --revision {revision}" if revision else "")


def cached_file(repo_id: str, filename: str, revision: str | None = None) -> Path | None:
    """The cached ``filename`` of the repo at ``revision`` (default ``main``), or None; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=hub_cache_dir(), revision=revision)
    except (ValueError, OSError):  # a malformed repo id or an unreadable cache folder: nothing usable is cached
        return None
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def not_cached_error(model_id: str, repo_id: str, filename: str, revision: str | None, why: str) -> ModelLoadError:
    """The one line for a file that is not in the cache: the repo, the file, and how to fetch it."""
    at = f"@{revision}" if revision else ""
    return ModelLoadError(
        f"model {model_id!r}: {filename} of hf:{repo_id}{at} is not in the Hugging Face cache {hub_cache_dir()} "
        f"({why}); on a machine with a network run `{fetch_command(repo_id, revision)}` (or "
        f"huggingface_hub.hf_hub_download({repo_id!r}, {filename!r})) and copy the cache here, or set HF_HUB_CACHE"
    )


def resolve_file(repo_id: str, filename: str, revision: str | None, model_id: str) -> Path:
    """The local path of one file of a Hub repo: the cached copy, else a download unless offline.

    Raises :class:`ModelLoadError` (one line, with the ``hf download`` command) when it cannot be had.
    """
    found = cached_file(repo_id, filename, revision)
    if found is not None:
        return found
    if hub_offline():
        raise not_cached_error(model_id, repo_id, filename, revision, "HF_HUB_OFFLINE is set")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=hub_cache_dir(), etag_timeout=10))
    except Exception as error:  # no network, unknown repo, missing file, gated repo: all end the same way here
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise not_cached_error(model_id, repo_id, filename, revision, f"download failed: {reason}") from None


def read_config(path: Path, repo_id: str, model_id: str) -> dict[str, Any]:
    """A repo's ``config.json`` as a dict; a file that is not a JSON object is one line."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(
            f"model {model_id!r}: {CONFIG_FILE} of hf:{repo_id} is not readable JSON ({error}); fetch the repo again "
            f"(`{fetch_command(repo_id)}`)"
        ) from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"model {model_id!r}: {CONFIG_FILE} of hf:{repo_id} is not a JSON object")
    return config
