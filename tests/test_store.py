"""The field store: hits, keys, and every fault provoked for real (truncation, races, SIGKILL, read-only disk)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_cnn, write_pngs, write_zoo

from gifviz import FieldConfig, compute_field
from gifviz.store import FieldStore, StoreUnavailable, field_key
from gifviz.store.blobs import decode_field, encode_field
from gifviz.store.recovery import recovery_lock
from gifviz.store.store import PARTIAL_GRACE_SECONDS

HELPERS = Path(__file__).parent / "helpers"


def small_field(steps: int = 3, seed: int = 0):
    inputs = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(seed))
    return compute_field(make_cnn(seed), inputs, FieldConfig(steps=steps), model_id=f"m{seed}")


def cli(*args: object, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gifviz", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        **kwargs,
    )


def test_blob_round_trip_is_exact():
    field = small_field()
    again = decode_field(encode_field(field))
    assert torch.equal(again.values, field.values) and again.config == field.config
    assert again.reference_names == field.reference_names and again.map_shape == field.map_shape
    half = decode_field(encode_field(field, float16=True))
    torch.testing.assert_close(half.values, field.values, rtol=1e-3, atol=1e-6)


def test_get_or_compute_computes_once(tmp_path):
    store = FieldStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return small_field()

    first = store.get_or_compute("a" * 64, compute, model_digest="d", refs_digest="r")
    second = FieldStore(tmp_path).get_or_compute("a" * 64, compute, model_digest="d", refs_digest="r")
    assert len(calls) == 1 and torch.equal(first.values, second.values)
    (record,) = store.records()
    assert record.model_id == "m0" and record.shape == "4x3x256" and record.bytes > 0 and record.compute_seconds > 0


def test_key_depends_on_what_the_field_is():
    config = FieldConfig(steps=5)
    key = field_key("model", "refs", config)
    assert key == field_key("model", "refs", config.replace(batch_size=7, device="cpu"))
    variants = {
        key,
        field_key("other", "refs", config),
        field_key("model", "other", config),
        field_key("model", "refs", config.replace(steps=6)),
        field_key("model", "refs", config, True),
    }
    assert len(variants) == 5


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_bad_blob_is_reported_removed_and_recomputed(tmp_path, damage):
    messages = []
    store = FieldStore(tmp_path, notify=messages.append)
    key = "b" * 64
    original = store.get_or_compute(key, small_field, model_digest="d", refs_digest="r")
    path = store.blob_path(key)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    calls = []

    def compute():
        calls.append(1)
        return small_field()

    again = store.get_or_compute(key, compute, model_digest="d", refs_digest="r")
    assert calls == [1] and torch.equal(again.values, original.values)
    assert len(messages) == 1 and "checksum" in messages[0] and "'m0'" in messages[0]
    assert store.stats.repaired == 1 and store.get(key) is not None


def test_two_processes_racing_on_one_key_compute_it_once(tmp_path):
    marks = tmp_path / "marks.txt"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(HELPERS / "race_worker.py"),
                str(tmp_path / "home"),
                str(marks),
                str(tmp_path / f"out{i}.pt"),
            ]
        )
        for i in range(2)
    ]
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    assert marks.read_text().count("computed") == 1
    assert torch.equal(torch.load(tmp_path / "out0.pt"), torch.load(tmp_path / "out1.pt"))
    assert len(FieldStore(tmp_path / "home").records()) == 1


def test_stores_opened_at_once_on_a_new_folder_all_open(tmp_path):
    # Several connections creating one new index at once: without the index lock SQLite answered some of them
    # "database is locked" at once (about 2 opens in 100 here), and that store fell back to no cache.
    failures = []
    for trial in range(60):
        home = tmp_path / str(trial)
        start = threading.Barrier(4)

        def open_store(home=home, start=start):
            start.wait()
            try:
                FieldStore(home)
            except StoreUnavailable as error:
                failures.append(str(error))

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_an_existing_store_opens_while_a_long_repair_holds_the_index_lock(tmp_path):
    FieldStore(tmp_path).get_or_compute("k" * 64, small_field, model_digest="d", refs_digest="r")
    holding, release = threading.Event(), threading.Event()

    def long_repair():  # gc and repair hold the lock while they read every blob
        with recovery_lock(tmp_path):
            holding.set()
            release.wait(30)

    repair = threading.Thread(target=long_repair)
    repair.start()
    try:
        assert holding.wait(10)
        started = time.perf_counter()
        opened = FieldStore(tmp_path)
        assert time.perf_counter() - started < 5 and opened.get("k" * 64) is not None
    finally:
        release.set()
        repair.join()


def test_lru_eviction_keeps_the_store_under_its_limit(tmp_path):
    store = FieldStore(tmp_path)
    for i in range(3):
        store.get_or_compute(str(i) * 64, lambda i=i: small_field(seed=i), model_digest="d", refs_digest="r")
        time.sleep(0.01)
    one = store.records()[0].bytes
    store.get("0" * 64)  # used recently: it must survive
    limited = FieldStore(tmp_path, max_bytes=int(2.5 * one))
    removed = limited.evict()
    assert removed == ["1" * 64] and limited.total_bytes() <= 2.5 * one
    assert limited.get("0" * 64) is not None


def test_gc_removes_orphans_and_partials(tmp_path):
    store = FieldStore(tmp_path)
    store.get_or_compute("c" * 64, small_field, model_digest="d", refs_digest="r")
    orphan = store.blob_path("d" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    partial = store.blob_path("c" * 64).parent / ".x.safetensors.123.partial"
    partial.write_bytes(b"half")
    stale = time.time() - PARTIAL_GRACE_SECONDS - 60
    os.utime(partial, (stale, stale))
    fresh = partial.with_name(".y.safetensors.456.partial")  # another run's write in progress: left alone
    fresh.write_bytes(b"being written")
    report = store.gc()
    assert (report.removed_files, report.removed_rows) == (2, 0)
    assert not orphan.exists() and not partial.exists() and fresh.exists() and store.get("c" * 64) is not None


def test_unusable_cache_folder_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(StoreUnavailable, match="GIFVIZ_HOME"):
        FieldStore(not_a_folder / "cache")


@pytest.fixture
def zoo_for_jobs(tmp_path):
    models = {f"m{i}": make_cnn(i, width=4 + i) for i in range(6)}
    return write_zoo(tmp_path / "zoo", models), write_pngs(tmp_path / "refs", 8)


def test_second_distances_run_hits_only_and_gives_the_same_csv(zoo_for_jobs, tmp_path):
    manifest, refs = zoo_for_jobs
    env = {"GIFVIZ_HOME": str(tmp_path / "home")}
    first = cli("distances", manifest, "--refs", refs, "--steps", "4", "--out", tmp_path / "a.csv", env=env)
    assert first.returncode == 0, first.stderr
    assert "6 field(s) computed, 0 already in" in first.stdout
    second = cli("distances", manifest, "--refs", refs, "--steps", "4", "--out", tmp_path / "b.csv", env=env)
    assert "0 field(s) computed, 6 already in" in second.stdout
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    listing = cli("cache", "ls", env=env)
    assert listing.stdout.count("8x4x256") == 6


def test_adding_a_model_computes_one_field(zoo_for_jobs, tmp_path):
    manifest, refs = zoo_for_jobs
    env = {"GIFVIZ_HOME": str(tmp_path / "home")}
    assert cli("compute", manifest, "--refs", refs, "--steps", "3", "--quiet", env=env).returncode == 0
    from conftest import save_torchscript

    save_torchscript(make_cnn(42), manifest.parent / "models" / "new.pt")
    manifest.write_text(manifest.read_text() + '[[models]]\nid = "new"\nfile = "models/new.pt"\n')
    result = cli("distances", manifest, "--refs", refs, "--steps", "3", "--out", tmp_path / "d.csv", env=env)
    assert "1 field(s) computed, 6 already in" in result.stdout


def test_sigkill_mid_compute_loses_nothing_finished_and_the_rerun_resumes(zoo_for_jobs, tmp_path):
    manifest, refs = zoo_for_jobs
    home = tmp_path / "home"
    env = {**os.environ, "GIFVIZ_HOME": str(home)}
    args = [
        sys.executable,
        "-m",
        "gifviz",
        "compute",
        str(manifest),
        "--refs",
        str(refs),
        "--steps",
        "300",
        "--batch-size",
        "16",
        "--quiet",
    ]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    finished = 0
    while time.time() < deadline and process.poll() is None:
        if (home / "index.sqlite").exists():
            finished = len(FieldStore(home).records())
            if finished >= 2:
                break
        time.sleep(0.05)
    assert process.poll() is None and finished >= 2, "the run ended before it could be killed; make it longer"
    process.send_signal(signal.SIGKILL)
    process.wait()
    store = FieldStore(home)
    kept = store.records()
    assert 2 <= len(kept) < 6
    checked, problems = store.verify()
    assert checked == len(kept) and problems == []  # every finished field is whole
    visible = [p for p in (home / "fields").rglob("*.safetensors")]
    assert len(visible) == len(kept)  # no partial blob under a real name
    rerun = cli("compute", manifest, "--refs", refs, "--steps", "300", "--batch-size", "16", "--quiet", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - len(kept)} field(s) computed, {len(kept)} already" in rerun.stdout


def read_only_command(folder: Path, command: list[str]) -> list[str]:
    """``command`` run with ``folder`` read-only: a read-only bind mount in a private mount namespace when root
    (root ignores permission bits), plain permissions otherwise."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command
    if shutil.which("unshare") is None:
        pytest.skip("running as root without util-linux 'unshare': cannot make a folder read-only for root")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *command]


def test_read_only_cache_folder_warns_and_still_answers(zoo_for_jobs, tmp_path):
    manifest, refs = zoo_for_jobs
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "d.csv"
    command = [
        sys.executable,
        "-m",
        "gifviz",
        "distances",
        str(manifest),
        "--refs",
        str(refs),
        "--steps",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    result = subprocess.run(
        read_only_command(home, command),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GIFVIZ_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert "gifviz: warning: cache folder" in result.stderr and "not kept" in result.stderr
    assert "Read-only file system" in result.stderr or os.geteuid() != 0
    assert out.read_text().startswith("model,m0,")
    assert not any(home.iterdir())


def test_float16_store_changes_distances_only_slightly(tmp_path):
    from gifviz import field_distance

    a, b = small_field(seed=0), small_field(seed=1)
    half_a, half_b = decode_field(encode_field(a, True)), decode_field(encode_field(b, True))
    assert abs(field_distance(a, b).value - field_distance(half_a, half_b).value) < 1e-3
    assert np.isclose(field_distance(half_a, half_a).value, 0.0, atol=1e-6)


def test_ray_executor_gives_the_local_fields_exactly(zoo_for_jobs, tmp_path):
    pytest.importorskip("ray")
    from gifviz.hub import Zoo
    from gifviz.jobs import store_fields
    from gifviz.refs import load_reference_folder

    manifest, refs_dir = zoo_for_jobs
    zoo = Zoo.open(manifest)
    refs = load_reference_folder(refs_dir, zoo.space)
    config = FieldConfig(steps=3)
    local = store_fields(zoo, refs, config, store=FieldStore(tmp_path / "local"))
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote_store = FieldStore(tmp_path / "ray")
        remote = store_fields(zoo, refs, config, store=remote_store, executor="ray")
    finally:
        ray.shutdown()
    assert list(remote) == list(local)
    for model_id in local:
        assert torch.equal(remote[model_id].values, local[model_id].values), model_id
    assert len(remote_store.records()) == len(local)


def test_label_fields_of_the_same_images_with_other_labels_are_not_shared(tmp_path):
    from gifviz.hub import Zoo
    from gifviz.jobs import store_fields
    from gifviz.refs import ReferenceSet

    zoo = Zoo.open(write_zoo(tmp_path / "zoo", {"m": make_cnn(0)}))
    images = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    names = tuple(f"r{i}" for i in range(4))
    first = ReferenceSet(images, names, torch.tensor([0, 1, 2, 3]))
    second = ReferenceSet(images, names, torch.tensor([4, 5, 6, 7]))
    store = FieldStore(tmp_path / "home")
    label = FieldConfig(steps=3, target="label")
    a = store_fields(zoo, first, label, store=store)["m"]
    b = store_fields(zoo, second, label, store=store)["m"]
    assert a.targets.tolist() == [0, 1, 2, 3] and b.targets.tolist() == [4, 5, 6, 7]  # not served from the first
    assert len(store.records()) == 2
    predicted = FieldConfig(steps=3)  # labels do not change this field: one stored field serves both sets
    store_fields(zoo, first, predicted, store=store)
    store_fields(zoo, second, predicted, store=store)
    assert len(store.records()) == 3


def test_a_stored_zeroth_order_field_keeps_the_queries_it_cost():
    import dataclasses

    field = dataclasses.replace(small_field(), queries=4105)
    assert decode_field(encode_field(field)).queries == 4105
    assert decode_field(encode_field(small_field())).queries is None  # an autograd field's blob is as before
