"""Serving the app to a team: the operator's policy, paths confined to allowed roots, the address read like CLI
arguments, cost caps, checked per-visitor uploads, and the pages under a hostile address (Streamlit's AppTest)."""

from __future__ import annotations

import io
import json
import os
import threading
import tomllib
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import make_cnn, save_torchscript
from PIL import Image
from safetensors.torch import save as safetensors_bytes

from gifviz.app.fields import uploaded_image
from gifviz.app.serving import ServingPolicy, ServingRefused
from gifviz.app.settings import AppSettings, read_query
from gifviz.app.uploads import add_uploaded_model, check_model_upload, visitor_folder, write_new
from gifviz.errors import ConfigError, GifvizError
from gifviz.hub import Zoo
from gifviz.hub.architectures import build_architecture
from gifviz.hub.spec import ModelSpec
from gifviz.space import InputSpace

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def roots(tmp_path: Path) -> dict[str, Path]:
    """An allowed root holding a zoo manifest and a reference folder, and a folder outside every root."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "refs").mkdir(parents=True)
    (allowed / "zoo.toml").write_text('name = "z"\n[input]\nchannels = 1\nsize = [16, 16]\n')
    (outside / "refs").mkdir(parents=True)
    (outside / "zoo.toml").write_text('name = "o"\n[input]\nchannels = 1\nsize = [16, 16]\n')
    return {"allowed": allowed, "outside": outside}


@pytest.fixture
def policy(roots) -> ServingPolicy:
    return ServingPolicy(roots=(roots["allowed"].resolve(),), max_refs=64, max_steps=10, max_models=3)


# -- the operator's policy ------------------------------------------------------------------------------------------


def test_default_policy_allows_the_builtin_zoo_and_gifviz_home_only(tmp_path):
    policy = ServingPolicy.from_environment({"GIFVIZ_HOME": str(tmp_path / "home"), "GIFVIZ_BUILTIN_ZOO": "/srv/zoo"})
    assert policy.roots == (Path("/srv/zoo"), (tmp_path / "home").resolve())
    assert not policy.allow_code
    assert policy == ServingPolicy(roots=policy.roots)  # every limit at its documented default


def test_policy_reads_operator_roots_and_limits_from_the_environment(tmp_path):
    environ = {
        "GIFVIZ_HOME": str(tmp_path / "home"),
        "GIFVIZ_ALLOWED_ROOTS": os.pathsep.join(["/data/zoos", "/data/refs"]),
        "GIFVIZ_ALLOW_CODE": "1",
        "GIFVIZ_MAX_REFS": "256",
        "GIFVIZ_MAX_SECONDS": "30.5",
        "GIFVIZ_MAX_UPLOAD_MB": "2",
    }
    policy = ServingPolicy.from_environment(environ)
    assert policy.roots[-2:] == (Path("/data/zoos"), Path("/data/refs"))
    assert policy.allow_code and policy.max_refs == 256 and policy.max_seconds == 30.5
    assert policy.max_upload_bytes == 2 * 2**20


def test_policy_reads_its_toml_file_and_the_environment_wins(tmp_path):
    config = tmp_path / "serving.toml"
    config.write_text('[serving]\nallowed_roots = ["/data/zoos"]\nmax_steps = 20\nmax_models = 7\nallow_code = true\n')
    policy = ServingPolicy.from_environment({"GIFVIZ_SERVING_CONFIG": str(config), "GIFVIZ_MAX_STEPS": "8"})
    assert Path("/data/zoos") in policy.roots and policy.allow_code
    assert policy.max_steps == 8 and policy.max_models == 7


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GIFVIZ_MAX_REFS", "-1"),
        ("GIFVIZ_MAX_REFS", "lots"),
        ("GIFVIZ_MAX_STEPS", "2.5"),
        ("GIFVIZ_MAX_SECONDS", "inf"),
        ("GIFVIZ_MAX_UPLOAD_MB", "0"),
        ("GIFVIZ_ALLOW_CODE", "maybe"),
        ("GIFVIZ_ALLOWED_ROOTS", "relative/folder"),
    ],
)
def test_an_unusable_operator_setting_is_one_error_naming_it(variable, value):
    with pytest.raises(ConfigError, match=variable):
        ServingPolicy.from_environment({variable: value})


@pytest.mark.parametrize(
    "text",
    ["not toml = = =", "[serving]\nmax_refs = 5\nbogus = 1\n", "[other]\nx = 1\n", "[serving]\nallowed_roots = 3"],
)
def test_an_unusable_serving_file_is_one_error_naming_it(tmp_path, text):
    config = tmp_path / "serving.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="GIFVIZ_SERVING_CONFIG"):
        ServingPolicy.from_environment({"GIFVIZ_SERVING_CONFIG": str(config)})


# -- confinement -----------------------------------------------------------------------------------------------------


def test_paths_inside_a_root_are_accepted_resolved(policy, roots):
    inside = roots["allowed"] / "refs" / ".." / "zoo.toml"
    assert policy.confine(inside, "manifest") == (roots["allowed"] / "zoo.toml").resolve()
    assert policy.confine(roots["allowed"], "refs") == roots["allowed"].resolve()


def _escapes(roots: dict[str, Path]) -> dict[str, str]:
    link = roots["allowed"] / "link"
    link.symlink_to(roots["outside"], target_is_directory=True)
    return {
        "absolute": str(roots["outside"] / "zoo.toml"),
        "etc-passwd": "/etc/passwd",
        "dot-dot": str(roots["allowed"] / ".." / "outside" / "zoo.toml"),
        "symlink": str(link / "zoo.toml"),
        "prefix-sibling": str(roots["allowed"]) + "-evil/zoo.toml",  # shares the root's name as a prefix
        "too-long": "/" + "a" * 5000,
        "nul-byte": str(roots["allowed"] / "zoo.toml") + "\x00",
    }


@pytest.mark.parametrize(
    "case", ["absolute", "etc-passwd", "dot-dot", "symlink", "prefix-sibling", "too-long", "nul-byte"]
)
def test_paths_leading_out_of_the_roots_are_refused(policy, roots, case):
    with pytest.raises(ServingRefused, match=r"^manifest"):
        policy.confine(_escapes(roots)[case], "manifest")


# -- the address, read like CLI arguments ----------------------------------------------------------------------------


def test_a_clean_address_round_trips_without_messages(policy, roots):
    wanted = AppSettings(manifest=str(roots["allowed"] / "zoo.toml"), refs=str(roots["allowed"] / "refs"), n_refs=8,
                         steps=6, baseline="blur", method="cka", metric="euclidean", models=("a", "b"))  # fmt: skip
    reading = read_query(wanted.to_query(), policy)
    assert reading.messages == () and reading.settings == wanted


def _bad_values(roots: dict[str, Path]) -> list[tuple[str, str, str]]:
    """(setting, hostile value, a word its message must hold)."""
    return [
        ("manifest", "/etc/passwd", "outside"),
        ("manifest", str(roots["outside"] / "zoo.toml"), "outside"),
        ("manifest", str(roots["allowed"] / ".." / "outside" / "zoo.toml"), "outside"),
        ("manifest", str(roots["allowed"] / "missing.toml"), "not an existing file"),
        ("manifest", "/" + "x" * 100_000, "characters"),
        ("refs", str(roots["outside"] / "refs"), "outside"),
        ("refs", str(roots["allowed"] / ".." / ".." / ".."), "outside"),
        ("refs", str(roots["allowed"] / "zoo.toml"), "not an existing folder"),
        ("n_refs", "-5", "at least 1"),
        ("n_refs", "0", "at least 1"),
        ("n_refs", "abc", "not a whole number"),
        ("n_refs", "12.5", "not a whole number"),
        ("n_refs", "1e9", "not a whole number"),
        ("n_refs", "٣", "not a whole number"),  # a digit int() would take, but not an ASCII one
        ("n_refs", "100000", "limit of 64 reference images"),
        ("n_refs", "9" * 100_000, "far over"),
        ("steps", "1", "at least 2"),
        ("steps", "11", "GIFVIZ_MAX_STEPS"),
        ("steps", "-" + "9" * 50, "at least 2"),
        ("baseline", "evil", "zeros, blur"),
        ("target", "label", "not one of"),
        ("device", "tpu", "not one of"),
        ("method", "rm -rf", "modelgif"),
        ("metric", "x" * 50_000, "characters"),
        ("models", "a,b,c,d", "limit of 3 models"),
        ("models", "m," * 20_000, "longer than any working set"),
    ]


@pytest.mark.parametrize("case", range(26))
def test_each_unusable_address_value_gives_one_message_and_its_default(policy, roots, case):
    name, value, words = _bad_values(roots)[case]
    reading = read_query({name: value}, policy)
    assert reading.settings == AppSettings()
    (message,) = reading.messages
    assert message.startswith(name) and words in message and "using" in message
    assert len(message) < 400  # a megabyte address gives a short message


def test_cache_dir_in_the_address_is_named_and_ignored(policy, tmp_path):
    chosen = tmp_path / "chosen" / "by" / "url"
    reading = read_query({"cache_dir": str(chosen), "steps": "6"}, policy)
    assert reading.settings == AppSettings(steps=6) and not hasattr(reading.settings, "cache_dir")
    (message,) = reading.messages
    assert "cache_dir" in message and "GIFVIZ_HOME" in message
    assert "cache_dir" not in reading.settings.to_query()


def test_unknown_keys_are_not_settings(policy):
    assert read_query({"embed": "true", "utm_source": "mail"}, policy).messages == ()


# -- cost caps -------------------------------------------------------------------------------------------------------


def test_caps_name_the_limit_and_its_variable():
    policy = ServingPolicy(max_refs=10, max_models=2)
    policy.check_cap("n_refs", 10)  # at the cap: fine
    with pytest.raises(ServingRefused, match=r"n_refs=11 .* limit of 10 reference images .*GIFVIZ_MAX_REFS"):
        policy.check_cap("n_refs", 11)
    with pytest.raises(ServingRefused, match=r"GIFVIZ_MAX_MODELS"):
        policy.check_cap("models", 3)


def test_computing_beyond_the_limit_is_refused_and_beyond_the_threshold_asks_first():
    policy = ServingPolicy(max_seconds=100, confirm_seconds=10)
    assert not policy.needs_confirmation(5) and policy.needs_confirmation(50)
    policy.check_seconds(100)
    with pytest.raises(ServingRefused, match=r"about 101 s .* limit of 100 s .*GIFVIZ_MAX_SECONDS"):
        policy.check_seconds(101)


# -- code-running sources --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("hub:/srv/repo:tiny", True),
        ("file:/srv/m.pt2", True),
        ("somenew:thing", True),  # a scheme nobody reviewed is code-running until someone does
        ("file:/srv/m.pt", False),
        ("file:/srv/m.safetensors", False),
        ("torchvision:resnet18", False),
        ("builtin:builtin/src-cnn", False),
        ("hf:org/repo", False),
    ],
)
def test_code_running_sources_are_refused_unless_the_operator_allows_them(source, refused):
    spec = ModelSpec(id="m", source=source)
    if refused:
        with pytest.raises(ServingRefused, match=r"model 'm' .*GIFVIZ_ALLOW_CODE=1"):
            ServingPolicy().refuse_code([spec], "zoo.toml")
    else:
        ServingPolicy().refuse_code([spec], "zoo.toml")
    ServingPolicy(allow_code=True).refuse_code([spec], "zoo.toml")


# -- uploads ---------------------------------------------------------------------------------------------------------


def _torchscript_bytes(seed: int, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(make_cnn(seed, **kwargs)), buffer)
    return buffer.getvalue()


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [
        ("huge.pt", b"\0" * (2 * 2**20 + 1), "over this server's limit of 2 MiB"),
        ("photo.safetensors", _png_bytes(), "not a safetensors file"),
        ("photo.pt", _png_bytes(), "not a readable PyTorch file"),
        ("notes.pth", b"just some text", "not a readable PyTorch file"),
        ("model.exe", b"MZ", "not a model file gifviz takes"),
        ("empty.safetensors", b"", "is empty"),
        ("cut.safetensors", b"\xff" * 8 + b"{}", "header length"),
        ("model.pt2", b"PK\x03\x04", "GIFVIZ_ALLOW_CODE"),
    ],
)
def test_each_bad_upload_is_one_message_naming_the_file(filename, data, words):
    with pytest.raises(GifvizError) as caught:
        check_model_upload(filename, data, ServingPolicy(max_upload_mb=2))
    message = str(caught.value)
    assert Path(filename).name in message and words in message and "\n" not in message


def test_real_model_files_pass_the_content_check():
    state = build_architecture("cnn_small", 10, "m").state_dict()
    assert check_model_upload("m.safetensors", safetensors_bytes(state), ServingPolicy()) == ".safetensors"
    assert check_model_upload("M.PT", _torchscript_bytes(0), ServingPolicy()) == ".pt"


def _crafted_pt2(marker: Path) -> bytes:
    """A torch.export program whose weight is marked pickled and holds a pickle that creates ``marker``."""

    class Creates:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    program = torch.export.export(torch.nn.Linear(2, 2).eval(), (torch.zeros(1, 2),))
    honest, evil, payload = io.BytesIO(), io.BytesIO(), io.BytesIO()
    torch.export.save(program, honest)
    torch.save(Creates(), payload)
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(evil, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("model_weights_config.json"):
                config = json.loads(data)
                config["config"]["weight"]["use_pickle"] = True
                data = json.dumps(config).encode()
            elif info.filename.endswith("weights/weight_0"):
                data = payload.getvalue()
            target.writestr(info, data)
    return evil.getvalue()


def _one_model_zoo(root: Path, name: str = "z") -> Path:
    (root / "models").mkdir(parents=True)
    save_torchscript(make_cnn(0), root / "models" / "base.pt")
    manifest = root / "zoo.toml"
    manifest.write_text(
        f'name = "{name}"\n[input]\nchannels = 1\nsize = [16, 16]\n[[models]]\nid = "base"\nfile = "models/base.pt"\n'
    )
    return manifest


def test_a_pt2_upload_is_refused_before_torch_export_could_unpickle_it(tmp_path):
    manifest = _one_model_zoo(tmp_path / "zoo")
    marker = tmp_path / "ran"
    folder = visitor_folder("a1b2c3d4", tmp_path / "home")
    with pytest.raises(GifvizError, match="GIFVIZ_ALLOW_CODE"):
        add_uploaded_model(Zoo.open(manifest), "model.pt2", _crafted_pt2(marker), None, 10, folder)
    assert not marker.exists() and not any(folder.iterdir())


def test_a_zip_that_is_no_model_leaves_nothing_behind(tmp_path):
    manifest = _one_model_zoo(tmp_path / "zoo")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        target.writestr("readme.txt", "hello")
    folder = visitor_folder("a1b2c3d4", tmp_path / "home")
    with pytest.raises(GifvizError, match="upload-fake"):
        add_uploaded_model(Zoo.open(manifest), "fake.pt", archive.getvalue(), None, 10, folder)
    assert not any(folder.iterdir())


SPACE = InputSpace(channels=1, height=16, width=16)


def test_an_image_upload_that_is_no_image_is_one_message():
    with pytest.raises(GifvizError, match=r"the uploaded file photo.png is not an image"):
        uploaded_image("photo.png", b"GIF89a but not really", SPACE)
    with pytest.raises(GifvizError, match=r"cut.png is not an image"):  # verify() alone would pass this one
        uploaded_image("cut.png", _png_bytes()[:-20], SPACE)


def test_an_image_upload_over_the_size_limit_is_refused_unopened():
    with pytest.raises(ServingRefused, match=r"big.png .*limit of 100 bytes"):
        uploaded_image("big.png", _png_bytes() * 10, SPACE, max_bytes=100)
    image = uploaded_image("../../etc/ok.png", _png_bytes(), SPACE, max_bytes=2**20)  # a path in the name is dropped
    assert image.shape == (1, 16, 16)


# -- per-visitor folders ---------------------------------------------------------------------------------------------


def test_each_visitor_has_an_own_folder_and_ids_cannot_lead_elsewhere(tmp_path):
    first, second = visitor_folder("a1b2c3d4", tmp_path), visitor_folder("0f0f0f0f", tmp_path)
    assert first != second and first.parent == second.parent == tmp_path / "uploads" and first.is_dir()
    for hostile in ("../../etc", "a1b2c3d4/../x", "", "A1B2C3D4"):
        with pytest.raises(GifvizError, match="visitor id"):
            visitor_folder(hostile, tmp_path)


def test_write_new_never_replaces_a_file(tmp_path):
    assert write_new(tmp_path / "f", b"first")
    assert not write_new(tmp_path / "f", b"second")
    assert (tmp_path / "f").read_bytes() == b"first" and sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_two_visitors_uploading_at_once_keep_their_own_working_zoos(tmp_path):
    manifest = _one_model_zoo(tmp_path / "zoo", "shared")
    home, results, errors = tmp_path / "home", {}, []
    uploads = {"a1a1a1a1": _torchscript_bytes(1), "b2b2b2b2": _torchscript_bytes(2)}
    start = threading.Barrier(len(uploads))

    def upload(visitor: str, data: bytes) -> None:
        try:
            folder = visitor_folder(visitor, home)
            start.wait()
            results[visitor] = add_uploaded_model(Zoo.open(manifest), "mine.pt", data, None, 10, folder)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=upload, args=item) for item in uploads.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for visitor, data in uploads.items():
        working = results[visitor]
        assert working.parent == home / "uploads" / visitor
        entries = tomllib.loads(working.read_text())["models"]
        assert [entry["id"] for entry in entries] == ["base", "upload-mine"]
        assert Path(entries[-1]["file"]).read_bytes() == data
    assert results["a1a1a1a1"] != results["b2b2b2b2"]


# -- the pages under a hostile address (AppTest) ---------------------------------------------------------------------


def _open(query: dict[str, str], page: str | None = None):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def test_the_address_cannot_choose_the_store_folder(tmp_path, isolated_cache):
    chosen = tmp_path / "chosen" / "by" / "url"
    app = _open({"cache_dir": str(chosen), "models": "src-cnn,ft-cnn-1", "n_refs": "2"})
    assert any("cache_dir" in warning.value for warning in app.warning)
    app.switch_page("pages/settings.py").run()
    assert not app.exception and not (tmp_path / "chosen").exists()
    assert app.metric[2].value == str(isolated_cache)  # the store is the operator's GIFVIZ_HOME


def test_a_zoo_with_a_hub_source_is_refused_naming_the_model_and_the_setting(isolated_cache, monkeypatch):
    repo = isolated_cache / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text("raise SystemExit('hubconf ran')\n")
    manifest = isolated_cache / "zoo.toml"
    manifest.write_text(
        f'name = "h"\n[input]\nchannels = 1\nsize = [16, 16]\n[[models]]\nid = "hubbed"\nsource = "hub:{repo}:tiny"\n'
    )
    app = _open({"manifest": str(manifest)})
    (message,) = [w.value for w in app.warning if "hubbed" in w.value]
    assert "hubconf.py" in message and "GIFVIZ_ALLOW_CODE=1" in message
    assert "gifviz-builtin" in app.caption[0].value  # the default view, usable
    assert "manifest" not in app.query_params  # the address now says what the page shows


def test_unknown_model_ids_are_named_and_left_out():
    app = _open({"models": "src-cnn,no-such-model,ft-cnn-1"})
    (message,) = [w.value for w in app.warning if "no-such-model" in w.value]
    assert "left out" in message
    assert app.query_params["models"] == "src-cnn,ft-cnn-1"


def test_computing_beyond_the_limit_is_refused_and_beyond_the_threshold_asks(monkeypatch):
    query = {"models": "src-cnn,ft-cnn-1", "n_refs": "4", "steps": "2"}  # 16 points: ~0.01 s estimated
    monkeypatch.setenv("GIFVIZ_MAX_SECONDS", "0.001")
    refused = _open(query, "pages/distances.py")
    assert "GIFVIZ_MAX_SECONDS" in refused.error[0].value and not refused.get("plotly_chart")
    monkeypatch.setenv("GIFVIZ_MAX_SECONDS", "600")
    monkeypatch.setenv("GIFVIZ_CONFIRM_SECONDS", "0.001")
    asked = _open(query, "pages/distances.py")
    assert "computes 2 field(s)" in asked.warning[0].value and not asked.get("plotly_chart")
    asked.button(key="confirm_compute").click().run()
    assert not asked.exception and asked.get("plotly_chart")
