"""The field store recovers what it can: a corrupt or lost index is rebuilt from self-describing blobs, a bad size
limit is refused before it empties anything, and runs racing on one store report what each really did."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import queue
import time
from pathlib import Path

import pytest
import torch
from conftest import make_cnn, write_zoo
from safetensors.torch import save

from gifviz import FieldConfig, compute_field
from gifviz.errors import ConfigError
from gifviz.store import FieldStore, field_key
from gifviz.store.blobs import decode_field

CONFIG = FieldConfig(steps=3)


def small_field(seed: int):
    inputs = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(seed))
    return compute_field(make_cnn(seed), inputs, CONFIG, model_id=f"m{seed}")


def fill(store: FieldStore, count: int = 3) -> dict[str, torch.Tensor]:
    """``count`` fields stored under real keys; key -> values ``(N, S, D)``."""
    values = {}
    for seed in range(count):
        key = field_key(f"model{seed}", "refs", CONFIG)
        field = store.get_or_compute(
            key, lambda seed=seed: small_field(seed), model_digest=f"model{seed}", refs_digest="refs"
        )
        values[key] = field.values.clone()
    return values


def format_1_blob(field) -> bytes:
    """A blob as gifviz wrote them before blobs described themselves: no digests, no checksum inside."""
    tensors = {
        "values": field.values,
        "alphas": field.alphas,
        "endpoint_scores": field.endpoint_scores,
        "baseline_scores": field.baseline_scores,
        "targets": field.targets,
    }
    metadata = {
        "format_version": "1",
        "model_id": field.model_id,
        "map_shape": json.dumps(list(field.map_shape)),
        "reference_names": "[]",
        "field_config": field.config.to_json(),
    }
    return save(tensors, metadata=metadata)


def test_corrupt_index_is_moved_aside_and_rebuilt_with_every_field(tmp_path):
    home = tmp_path / "store"
    store = FieldStore(home)
    stored = fill(store)
    rows_before = {r.key: r for r in store.records()}
    store.index.close()
    (home / "index.sqlite").write_bytes(os.urandom(4096))

    messages = []
    reopened = FieldStore(home, notify=messages.append)
    assert len(messages) == 1 and "corrupt" in messages[0] and "3 field(s) re-indexed" in messages[0]
    (aside,) = home.glob("index.sqlite.corrupt-*[0-9]")
    assert aside.read_bytes() != b"" and aside.name in messages[0]  # kept for a post-mortem, not deleted
    for key, values in stored.items():
        field = reopened.get(key)
        assert field is not None and torch.equal(field.values, values)
    for record in reopened.records():  # the rows come back as they were, use times aside
        before = rows_before[record.key]
        assert (
            record.model_id,
            record.model_digest,
            record.refs_digest,
            record.config_json,
            record.checksum,
            record.bytes,
            record.device,
        ) == (
            before.model_id,
            before.model_digest,
            before.refs_digest,
            before.config_json,
            before.checksum,
            before.bytes,
            before.device,
        )
    assert FieldStore(home, notify=messages.append).records() and len(messages) == 1  # healthy now: no second rebuild


def test_index_with_damaged_pages_is_rebuilt(tmp_path):
    home = tmp_path / "store"
    store = FieldStore(home)
    stored = fill(store, 2)
    store.index.close()
    path = home / "index.sqlite"
    data = bytearray(path.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # SQLite's header survives, its pages do not
    path.write_bytes(bytes(data))
    reopened = FieldStore(home)
    assert all(torch.equal(reopened.get(key).values, values) for key, values in stored.items())


def test_rebuild_keeps_old_blobs_and_removes_altered_ones(tmp_path):
    home = tmp_path / "store"
    store = FieldStore(home)
    stored = fill(store)
    keys = list(stored)
    altered = store.blob_path(keys[0])
    data = bytearray(altered.read_bytes())
    data[-3] ^= 0xFF  # one value changed: the blob no longer matches the checksum it carries
    altered.write_bytes(bytes(data))
    old = store.blob_path("f" * 64)
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(format_1_blob(small_field(7)))
    store.index.close()
    (home / "index.sqlite").write_bytes(b"not a database at all" * 100)

    messages = []
    reopened = FieldStore(home, notify=messages.append)
    assert "2 field(s) re-indexed" in messages[0] and "1 blob(s) of format 1 kept" in messages[0]
    assert "1 unreadable or altered blob(s) removed" in messages[0]
    assert old.exists() and decode_field(old.read_bytes()).model_id == "m7"  # old blobs still read; not deleted
    assert not altered.exists() and reopened.get(keys[0]) is None
    assert all(torch.equal(reopened.get(key).values, stored[key]) for key in keys[1:])


def test_deleted_index_is_refilled_from_the_blobs(tmp_path):
    home = tmp_path / "store"
    store = FieldStore(home)
    stored = fill(store, 2)
    store.index.close()
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    messages = []
    reopened = FieldStore(home, notify=messages.append)
    assert len(messages) == 1 and "missing" in messages[0]
    report = reopened.gc()  # nothing left to re-index or delete
    assert (report.removed_files, report.removed_rows, report.reindexed) == (0, 0, 0)
    assert all(torch.equal(reopened.get(key).values, values) for key, values in stored.items())


def test_repair_reindexes_orphans_and_drops_rows_without_blobs(tmp_path):
    store = FieldStore(tmp_path / "store")
    stored = fill(store)
    orphan, gone, _ = list(stored)
    store.index.delete(orphan)  # a write cut between blob and row
    store.blob_path(gone).unlink()  # a blob deleted by hand
    report = store.repair()
    assert (report.indexed, report.rows_dropped, report.removed_bad, report.moved_aside) == (1, 1, [], None)
    assert torch.equal(store.get(orphan).values, stored[orphan]) and store.get(gone) is None
    assert len(store.records()) == 2


def test_repair_rebuilds_an_index_that_went_bad_while_open(tmp_path):
    home = tmp_path / "store"
    store = FieldStore(home)
    stored = fill(store, 2)
    store.index.close()
    other = FieldStore(home)
    (home / "index.sqlite").write_bytes(os.urandom(8192))
    for name in ("index.sqlite-wal", "index.sqlite-shm"):
        (home / name).unlink(missing_ok=True)
    report = other.repair()
    assert report.indexed == 2 and report.moved_aside is not None and report.moved_aside.exists()
    assert all(torch.equal(other.get(key).values, values) for key, values in stored.items())


@pytest.mark.parametrize("value", ["-1", "0", "abc", "nan", "inf", "-inf", "1e-12"])
def test_a_cache_limit_that_is_not_a_positive_size_is_refused(tmp_path, monkeypatch, value):
    home = tmp_path / "store"
    stored = fill(FieldStore(home), 1)
    monkeypatch.setenv("GIFVIZ_CACHE_MAX_GB", value)
    with pytest.raises(ConfigError, match=r"GIFVIZ_CACHE_MAX_GB=.*positive number of gigabytes.*unset it"):
        FieldStore(home)
    monkeypatch.setenv("GIFVIZ_CACHE_MAX_GB", " 0.5 ")  # a positive size still works
    assert FieldStore(home).max_bytes == 2**29
    assert FieldStore(home).get(next(iter(stored))) is not None  # nothing was evicted


def race(manifest: Path, home: Path, reverse: bool, barrier, results) -> None:
    """One run of ``store_fields`` on a zoo, in a fresh process, started together with the other.

    The runs take the models in opposite orders, so they meet in the middle as two real runs started a little apart
    do: each computes some fields and finds the others stored by the other run."""
    import time

    from gifviz.hub import Zoo
    from gifviz.jobs import runner
    from gifviz.refs import ReferenceSet

    compute = runner.model_field

    def slow_model_field(*args, **kwargs):
        time.sleep(0.1)  # long enough that the other run arrives while this one computes
        return compute(*args, **kwargs)

    runner.model_field = slow_model_field
    torch.set_num_threads(1)
    zoo = Zoo.open(manifest)
    refs = ReferenceSet(torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)), ("a", "b", "c"))
    store = FieldStore(home)
    for model_id in zoo.ids:
        zoo.load(model_id)
    barrier.wait(timeout=120)
    summary = runner.RunSummary()
    ids = list(reversed(zoo.ids)) if reverse else list(zoo.ids)
    runner.store_fields(zoo, refs, FieldConfig(steps=2), ids, store=store, summary=summary)
    results.put(dataclasses.asdict(summary) | {"line": summary.describe(str(home))})


def test_two_runs_racing_on_one_store_each_count_what_they_did(tmp_path):
    models = {f"m{i}": make_cnn(i, width=2) for i in range(8)}
    manifest = write_zoo(tmp_path / "zoo", models)
    home = tmp_path / "store"
    FieldStore(home).index.close()  # created once, before the race
    # Spawned, not forked: a fork copies whatever autograd threads this process started for earlier tests, and its
    # child then refuses to differentiate ("Unable to handle autograd's threading in combination with fork").
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    runs = [context.Process(target=race, args=(manifest, home, reverse, barrier, results)) for reverse in (0, 1)]
    for run in runs:
        run.start()
    summaries = []
    deadline = time.monotonic() + 300
    while len(summaries) < len(runs) and time.monotonic() < deadline:
        try:
            summaries.append(results.get(timeout=0.5))
        except queue.Empty:
            if all(run.exitcode is not None for run in runs):  # a run died without a summary: fail now, not at 300 s
                break
    for run in runs:
        run.join(timeout=60)
    assert [run.exitcode for run in runs] == [0, 0] and len(summaries) == 2
    assert sum(len(s["computed"]) for s in summaries) == 8  # each field computed once, counted once
    for s in summaries:
        assert sorted(s["hits"] + s["computed"] + s["stored_elsewhere"]) == sorted(models)
        assert f"{len(s['computed'])} field(s) computed" in s["line"]
    assert all(s["computed"] for s in summaries), "the runs did not overlap; the race was not exercised"
    assert any(s["stored_elsewhere"] for s in summaries)
    assert len(FieldStore(home).records()) == 8


def test_gc_reindexes_a_good_blob_whose_row_is_missing_instead_of_deleting_it(tmp_path):
    """A run writes a field's blob before its index row, and a lost index leaves every blob without one: gc keeps
    such fields (indexing them again) and deletes only what can never be indexed."""
    store = FieldStore(tmp_path / "store")
    stored = fill(store, 2)
    orphan = next(iter(stored))
    store.index.delete(orphan)
    assert not store.contains(orphan) and store.blob_path(orphan).exists()
    report = store.gc()
    assert (report.reindexed, report.removed_files) == (1, 0) and "re-indexed 1 field(s)" in report.describe()
    assert torch.equal(store.get(orphan).values, stored[orphan])
