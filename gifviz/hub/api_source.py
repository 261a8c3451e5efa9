"""``api:<url>``: a model served over HTTP that answers queries only (a prediction API, ML-as-a-Service).

Protocol (one request per batch of inputs; JSON both ways)::

    POST <url>
    Content-Type: application/json
    {"shape": [B, C, H, W], "dtype": "float32", "inputs": "<base64 of the B*C*H*W values, little-endian float32,
     row-major>"}

    200 OK
    {"outputs": [[o_11, ..., o_1K], ..., [o_B1, ..., o_BK]]}

The inputs are the model's own inputs: the manifest entry's ``preprocess`` (resize, normalize) is applied by gifviz
before sending, so a server that expects 0..1 pixels of the zoo's space needs none. ``outputs`` holds one row of K
finite numbers per input, in order: logits or probabilities, whichever the service gives (the field is of what it
answers: ``--target predicted`` differentiates the returned score of the predicted class). Any other answer is an
error naming the URL and the problem.

The client (stdlib ``urllib``) has, per manifest entry, an ``[models.api]`` table::

    [[models]]
    id = "suspect"
    source = "api:http://127.0.0.1:8000/predict"
    [models.api]
    timeout = 30          # seconds per request
    retries = 3           # after a refused connection, a timeout, HTTP 429 or 5xx; waits backoff * 2**attempt
    backoff = 0.5         # seconds
    max_queries = 2000000 # hard cap: model inputs sent by this client, retries included; never passed
    rate = 0              # requests per second at most (0: no limit)
    batch = 512           # inputs per request at most (a larger batch is split)

An ``api:`` model has no weights to hash, so its digest is a fingerprint of its answers: sha256 over its outputs on
:data:`PROBE_COUNT` fixed inputs of the zoo's space (seeded), rounded to :data:`FINGERPRINT_DIGITS` significant
digits so float noise of the server does not change it, and over the preprocess. Two URLs serving the same model
share fields; a model that changes behind a URL gets a new digest.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import torch
from torch import nn

from gifviz.errors import GifvizError, ManifestError
from gifviz.hub.spec import ModelSpec, SourceModel
from gifviz.space import InputSpace, Preprocess, PreprocessedModel

PROBE_COUNT = 8
PROBE_SEED = 20240417
FINGERPRINT_DIGITS = 4
# HTTP statuses worth another try: the service is busy or failed transiently.
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Longest answer read (bytes): one row of 1000 logits per input of a batch of 4096, with room to spare.
MAX_ANSWER_BYTES = 256 * 1024 * 1024


class ApiError(GifvizError):
    """An ``api:`` model is unreachable, misbehaves or would pass its query cap; the message names the URL."""


@dataclasses.dataclass(frozen=True)
class ApiSettings:
    """The client's limits (the manifest entry's ``[models.api]`` table; see the module docstring)."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_queries: int = 2_000_000
    rate: float = 0.0
    batch: int = 512

    @classmethod
    def from_table(cls, table: Any, context: str) -> ApiSettings:
        """Settings from a manifest ``[models.api]`` table; a wrong key or value is a :class:`ManifestError`."""
        if table is None:
            return cls()
        if not isinstance(table, dict):
            raise ManifestError(f"{context}: 'api' must be a table ([models.api]) of {', '.join(_FIELDS)}")
        unknown = sorted(set(table) - set(_FIELDS))
        if unknown:
            raise ManifestError(
                f"{context} [models.api]: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}"
            )
        values: dict[str, Any] = {}
        for name, value in table.items():
            kind = _FIELDS[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (kind is int and not isinstance(value, int))
            ):
                noun = "an integer" if kind is int else "a number"
                raise ManifestError(f"{context} [models.api]: {name} must be {noun}; got {value!r}")
            minimum = 0 if name in ("retries", "backoff", "rate") else 1 if kind is int else 0.001
            if value < minimum or not math.isfinite(value):
                raise ManifestError(f"{context} [models.api]: {name} = {value!r} must be at least {minimum}")
            values[name] = kind(value)
        return cls(**values)


_FIELDS: dict[str, type] = {
    "timeout": float,
    "retries": int,
    "backoff": float,
    "max_queries": int,
    "rate": float,
    "batch": int,
}


def api_url(source: str) -> str:
    """The URL of an ``api:<url>`` source."""
    return source.split(":", 1)[1]


def check_api_source(source: str) -> str | None:
    """Why ``source`` is not a usable ``api:<url>`` (``None``: it is): the URL must be http or https with a host."""
    url = api_url(source)
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        return f"api sources are 'api:http://<host>[:port]/<path>' (or https); got {source!r}"
    return None


class ApiClient:
    """Sends batches to one URL under the settings' timeout, retries, cap and rate; counts the inputs sent."""

    def __init__(self, url: str, settings: ApiSettings, model_id: str = "") -> None:
        self.url = url
        self.settings = settings
        self.model_id = model_id
        self.queries = 0  # model inputs sent, retries included
        self.requests = 0
        self._last_request = -math.inf
        self._lock = threading.Lock()
        # No proxy: the operator names the URL; an environment's proxy would otherwise see (and may refuse) it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _fail(self, problem: str) -> ApiError:
        who = f"api model {self.model_id!r} at {self.url}" if self.model_id else f"api model at {self.url}"
        return ApiError(f"{who}: {problem}")

    def query(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs ``(B, K)`` float32 of inputs ``(B, ...)`` float32, in requests of at most ``settings.batch``."""
        rows = [
            self._request(inputs[start : start + self.settings.batch])
            for start in range(0, len(inputs), self.settings.batch)
        ]
        widths = {row.shape[1] for row in rows}
        if len(widths) > 1:
            raise self._fail(f"answered rows of {sorted(widths)} outputs in one run; the protocol wants a fixed K")
        return np.concatenate(rows)

    def _request(self, inputs: np.ndarray) -> np.ndarray:
        body = json.dumps(
            {
                "shape": list(inputs.shape),
                "dtype": "float32",
                "inputs": base64.b64encode(np.ascontiguousarray(inputs, dtype="<f4").tobytes()).decode("ascii"),
            }
        ).encode()
        with self._lock:  # one request at a time: the rate and the cap hold across threads
            for attempt in range(self.settings.retries + 1):
                self._before_request(len(inputs))
                problem, retry, payload = self._send(body)
                if payload is not None:
                    return self._outputs(payload, len(inputs))
                if not retry or attempt == self.settings.retries:
                    tries = f" (after {attempt} retr{'y' if attempt == 1 else 'ies'})" if attempt else ""
                    raise self._fail(problem + tries)
                time.sleep(self.settings.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _before_request(self, count: int) -> None:
        cap = self.settings.max_queries
        if self.queries + count > cap:
            raise self._fail(
                f"sending {count} more inputs would pass its query cap of {cap:,} ({self.queries:,} sent); raise "
                "max_queries in the entry's [models.api] table, or lower --queries, --steps or --n-refs"
            )
        if self.settings.rate > 0:
            wait = self._last_request + 1.0 / self.settings.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_request = time.monotonic()
        self.queries += count
        self.requests += 1

    def _send(self, body: bytes) -> tuple[str, bool, Any]:
        """``(problem, worth retrying, None)`` or ``("", False, parsed JSON)``."""
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as response:
                data = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            retry = error.code in RETRIED_STATUSES
            advice = "" if retry else "; check the URL and that it speaks gifviz's api protocol (POST JSON)"
            return f"answered HTTP {error.code} ({error.reason}){advice}", retry, None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                return self._timeout(), True, None
            return f"cannot connect ({reason}); check that the server runs and the URL is right", True, None
        except TimeoutError:
            return self._timeout(), True, None
        except (ConnectionError, OSError) as error:  # reset or closed mid-answer
            return f"the connection failed mid-answer ({error})", True, None
        if len(data) > MAX_ANSWER_BYTES:
            return f"answered more than {MAX_ANSWER_BYTES // 2**20} MiB for one request", False, None
        try:
            return "", False, json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return (
                f'answered something that is not JSON ({data[:60]!r}); the protocol wants {{"outputs": [[...]]}}',
                False,
                None,
            )

    def _timeout(self) -> str:
        return (
            f"did not answer within {self.settings.timeout:g} s; raise timeout in its [models.api] table or check "
            "the server"
        )

    def _outputs(self, payload: Any, count: int) -> np.ndarray:
        """The ``(count, K)`` float32 outputs of an answer, checked."""
        if not isinstance(payload, dict) or "outputs" not in payload:
            raise self._fail(
                'answered JSON without "outputs"; the protocol wants {"outputs": [[...], ...]}, one row per input'
            )
        try:
            outputs = np.asarray(payload["outputs"], dtype=np.float64)
        except (TypeError, ValueError):
            raise self._fail('"outputs" is not a table of numbers (rows of equal length, one per input)') from None
        if outputs.ndim != 2 or outputs.shape[0] != count or outputs.shape[1] < 1:
            raise self._fail(
                f"answered outputs of shape {list(outputs.shape)} for {count} inputs; the protocol wants "
                f"[{count}, K]: one row of K numbers per input"
            )
        bad = ~np.isfinite(outputs).all(axis=1)
        if bad.any():
            raise self._fail(
                f"answered NaN or infinite outputs for {int(bad.sum())} of {count} inputs (first: input "
                f"{int(np.flatnonzero(bad)[0])}); a field needs finite outputs"
            )
        return outputs.astype(np.float32)


class ApiModel(nn.Module):
    """A query-only module ``(B, C, H, W)`` -> ``(B, K)`` whose outputs come from an ``api:`` URL.

    No gradient flows through it (``query_only``); its inputs are sent as float32 and its outputs come back in the
    input's dtype and device.
    """

    query_only = True

    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self.client = client

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
        outputs = self.client.query(array)
        return torch.from_numpy(outputs).to(device=x.device, dtype=x.dtype)

    def extra_repr(self) -> str:
        return f"url={self.client.url!r}"


def load_api(spec: ModelSpec) -> SourceModel:
    """The :class:`SourceModel` of an ``api:<url>`` entry (nothing is sent until the model is first queried)."""
    url = api_url(spec.source)
    settings = ApiSettings.from_table(spec.extra.get("api"), f"model {spec.id!r}")
    module = ApiModel(ApiClient(url, settings, spec.id))
    return SourceModel(module, spec.preprocess, spec.classes, description=f"served at {url} (query-only)")


def answers_digest(module: nn.Module, preprocess: Preprocess, space: InputSpace) -> str:
    """sha256 fingerprint of a model's answers on :data:`PROBE_COUNT` fixed inputs of ``space`` (and its
    preprocess): the digest of a model without weights to hash."""
    generator = torch.Generator().manual_seed(PROBE_SEED)
    low, high = space.value_range
    probes = torch.rand((PROBE_COUNT, *space.shape), generator=generator) * (high - low) + low
    with torch.no_grad():
        outputs = PreprocessedModel(module, preprocess)(probes).double().numpy()
    digest = hashlib.sha256(b"gifviz-answers-v1\n")
    digest.update(json.dumps(preprocess.to_dict(), sort_keys=True).encode())
    digest.update(repr(outputs.shape).encode())
    rounded = [float(f"{value:.{FINGERPRINT_DIGITS - 1}e}") for value in outputs.reshape(-1)]
    digest.update(json.dumps(rounded).encode())
    return digest.hexdigest()
