"""``api:<url>`` sources against a local HTTP server started here (127.0.0.1, a thread): the protocol, the query cap,
the rate limit, timeouts, retries, every error case, and the digest as a fingerprint of the answers."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_cnn, perturbed, write_pngs, write_zoo
from torch import nn

from gifviz.app.serving import ServingPolicy, ServingRefused
from gifviz.cli import main
from gifviz.config import FieldConfig
from gifviz.errors import ConfigError, ManifestError
from gifviz.field.engine import compute_field
from gifviz.field.files import load_field_npz
from gifviz.hub.api_source import ApiClient, ApiError, ApiSettings
from gifviz.hub.loading import load_model
from gifviz.hub.manifest import load_manifest


class ModelServer:
    """Serves ``model`` on 127.0.0.1 by gifviz's api protocol; the path picks a behaviour (``/predict`` answers
    well; ``/error``, ``/shape``, ``/nan``, ``/text``, ``/slow``, ``/flaky`` misbehave). Counts requests and inputs."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.requests = 0
        self.inputs = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                shape = body["shape"]
                values = np.frombuffer(base64.b64decode(body["inputs"]), dtype="<f4").reshape(shape)
                with server.lock:
                    server.requests += 1
                    server.inputs += shape[0]
                    attempt = server.requests
                with torch.no_grad():
                    outputs = server.model(torch.from_numpy(values.copy())).tolist()
                path = self.path
                if path == "/error" or (path == "/flaky" and attempt < 3):
                    return self.send_error(500, "model crashed")
                if path == "/shape":
                    outputs = outputs[:-1]
                if path == "/nan":
                    outputs[0][0] = float("nan")
                if path == "/slow":
                    time.sleep(1.0)
                data = b"<html>oops</html>" if path == "/text" else json.dumps({"outputs": outputs}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/predict") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served():
    server = ModelServer(make_cnn(0))
    yield server
    server.close()


def api_zoo(folder: Path, url: str, api: str = "", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        'name = "api-zoo"\n[input]\nchannels = 1\nsize = [16, 16]\n[[models]]\nid = "remote"\n'
        f'source = "api:{url}"\n{extra}\n'
    )
    if api:
        text += f"[models.api]\n{api}\n"
    (folder / "zoo.toml").write_text(text)
    return folder / "zoo.toml"


def load_remote(folder: Path, url: str, api: str = "retries = 0"):
    manifest = load_manifest(api_zoo(folder, url, api))
    return load_model(manifest.spec("remote"), manifest.space)


def client(url: str, **settings) -> ApiClient:
    return ApiClient(url, ApiSettings(**{"retries": 0, **settings}), "remote")


def test_protocol_answers_equal_the_local_model_and_batches_split(served):
    x = torch.rand(7, 1, 16, 16)
    api = client(served.url(), batch=3)
    outputs = api.query(x.numpy())
    with torch.no_grad():
        assert np.allclose(outputs, make_cnn(0)(x).numpy(), atol=1e-6)
    assert served.requests == 3 and api.requests == 3  # 3 + 3 + 1 inputs
    assert served.inputs == api.queries == 7


def test_loaded_api_model_is_query_only_and_fingerprinted(served, tmp_path):
    model = load_remote(tmp_path / "a", served.url())
    assert model.num_params == 0 and model.classes == tuple(str(k) for k in range(10))
    assert getattr(model.module, "query_only", False)
    # the digest is the answers' fingerprint: the same model at another URL has it, another model does not
    other = ModelServer(make_cnn(0))
    different = ModelServer(make_cnn(5))
    try:
        assert load_remote(tmp_path / "b", other.url()).digest == model.digest
        assert load_remote(tmp_path / "c", different.url()).digest != model.digest
    finally:
        other.close()
        different.close()


def test_zeroth_order_field_of_the_served_model_equals_the_local_one(served, tmp_path):
    model = load_remote(tmp_path, served.url())
    x = torch.rand(3, 1, 16, 16)
    config = FieldConfig(steps=2, gradient="zeroth-order", queries=32)
    before = served.inputs
    remote = compute_field(model.module, x, config, model.preprocess, model_id="remote")
    local = compute_field(make_cnn(0), x, config)
    assert torch.allclose(remote.values, local.values, atol=1e-4)
    assert remote.queries == served.inputs - before == 3 + 1 + 3 * 2 * 32
    with pytest.raises(ConfigError, match="--gradient zeroth-order"):
        compute_field(model.module, x, FieldConfig(steps=2), model.preprocess, model_id="remote")


def test_the_query_cap_is_never_passed(served):
    api = client(served.url(), max_queries=10)
    api.query(np.zeros((8, 1, 16, 16), dtype=np.float32))
    with pytest.raises(ApiError, match=r"query cap of 10 .*8 sent.*max_queries") as error:
        api.query(np.zeros((3, 1, 16, 16), dtype=np.float32))
    assert served.url() in str(error.value)
    assert served.inputs == 8


def test_rate_limit_spaces_requests(served):
    api = client(served.url(), rate=20.0, batch=1)
    started = time.monotonic()
    api.query(np.zeros((5, 1, 16, 16), dtype=np.float32))
    assert time.monotonic() - started >= 4 / 20 - 0.01  # five requests, four gaps of 1/20 s


def test_slow_answer_times_out(served):
    started = time.monotonic()
    with pytest.raises(ApiError, match=r"did not answer within 0.2 s") as error:
        client(served.url("/slow"), timeout=0.2).query(np.zeros((1, 1, 16, 16), dtype=np.float32))
    assert time.monotonic() - started < 1.0
    assert served.url("/slow") in str(error.value)


def test_connection_refused_is_one_line_naming_the_url():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/predict"
    with pytest.raises(ApiError, match="cannot connect") as error:
        client(url, retries=1, backoff=0.01).query(np.zeros((1, 1, 16, 16), dtype=np.float32))
    message = str(error.value)
    assert url in message and "after 1 retry" in message and "\n" not in message


def test_http_500_is_retried_then_reported(served):
    with pytest.raises(ApiError, match=r"HTTP 500 .*after 2 retries"):
        client(served.url("/error"), retries=2, backoff=0.01).query(np.zeros((1, 1, 16, 16), dtype=np.float32))
    assert served.requests == 3


def test_transient_errors_recover_with_retries(served):
    outputs = client(served.url("/flaky"), retries=3, backoff=0.01).query(np.zeros((2, 1, 16, 16), dtype=np.float32))
    assert outputs.shape == (2, 10) and served.requests == 3


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("/shape", r"outputs of shape \[3, 10\] for 4 inputs"),
        ("/nan", "NaN or infinite outputs for 1 of 4 inputs"),
        ("/text", "not JSON"),
    ],
)
def test_misbehaving_answers_are_one_line_naming_the_url(served, path, fragment):
    with pytest.raises(ApiError, match=fragment) as error:
        client(served.url(path)).query(np.zeros((4, 1, 16, 16), dtype=np.float32))
    assert served.url(path) in str(error.value) and "\n" not in str(error.value)


def test_a_misbehaving_endpoint_fails_loading_with_its_own_line(served, tmp_path):
    with pytest.raises(ApiError, match="NaN or infinite"):
        load_remote(tmp_path, served.url("/nan"))


@pytest.mark.parametrize(
    "url, api, extra, fragment",
    [
        ("ftp://127.0.0.1/x", "", "", "api:http://<host>"),
        ("http://127.0.0.1:1/x", "wait = 3", "", "unknown key"),
        ("http://127.0.0.1:1/x", "timeout = -1", "", "timeout = -1 must be at least"),
        ("http://127.0.0.1:1/x", "batch = 2.5", "", "batch must be an integer"),
        ("http://127.0.0.1:1/x", "", 'access = "weights"', "answers queries only"),
    ],
)
def test_bad_api_entries_are_manifest_errors(tmp_path, url, api, extra, fragment):
    with pytest.raises(ManifestError, match=fragment):
        load_manifest(api_zoo(tmp_path, url, api, extra))


def test_the_served_app_refuses_api_sources_by_default(tmp_path):
    spec = load_manifest(api_zoo(tmp_path, "http://127.0.0.1:1/x")).spec("remote")
    with pytest.raises(ServingRefused, match="api"):
        ServingPolicy().refuse_code([spec], "the address")
    ServingPolicy(allow_code=True).refuse_code([spec], "the address")


def test_cli_field_of_a_served_model(served, tmp_path, capsys):
    manifest = api_zoo(tmp_path / "zoo", served.url(), "retries = 0")
    refs = write_pngs(tmp_path / "refs", 3)
    common = ["field", str(manifest), "remote", "--refs", str(refs), "--steps", "2", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "f.npz")]) == 2
    assert "--gradient zeroth-order" in capsys.readouterr().err
    out = tmp_path / "z.npz"
    assert main([*common, "--out", str(out), "--gradient", "zeroth-order", "--queries", "16"]) == 0
    field, info = load_field_npz(out)
    assert field.shape == (3, 2, 256) and info["queries"] == 3 + 1 + 3 * 2 * 16


def test_an_audit_of_a_suspect_served_over_http_end_to_end(tmp_path, capsys):
    """The suspect is only an HTTP endpoint (a slightly perturbed copy of the source); the audit takes every field
    by zeroth-order estimates (the source's too, so both sides of a distance come from one estimator)."""
    import pandas as pd

    server = ModelServer(perturbed(make_cnn(0), 0.02))
    try:
        folder = tmp_path / "zoo"
        models = {"src": make_cnn(0), **{f"indep{k}": make_cnn(10 + k) for k in range(4)}}
        fields = {model_id: {"relation": "source" if model_id == "src" else "independent"} for model_id in models}
        api = ("[[models]]", 'id = "suspect"', f'source = "api:{server.url()}"', 'task = "digit"', "[models.api]")
        write_zoo(folder, models, name="audit-api", references="refs", fields=fields, more=(*api, "retries = 0"))
        write_pngs(folder / "refs", 6)
        out = tmp_path / "audit"
        code = main(
            [
                "audit",
                str(folder / "zoo.toml"),
                "--source",
                "src",
                "--suspects",
                "suspect",
                "--methods",
                "modelgif,softmax",
                "--gradient",
                "zeroth-order",
                "--steps",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        assert code == 0, capsys.readouterr().err
    finally:
        server.close()
    table = pd.read_csv(out / "audit.csv")
    by_method = table.set_index("method")
    assert list(table["suspect"].unique()) == ["suspect"] and set(by_method.index) == {
        "modelgif",
        "softmax",
        "combined",
    }
    assert by_method.loc["modelgif", "verdict"] == "derived"  # closer to the source than every independent
    assert server.inputs > 0  # the suspect was only ever queried
