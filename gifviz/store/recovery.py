"""Rebuilding the store's index from its blobs, which describe and check themselves (blob format 2).

A corrupt ``index.sqlite`` is moved aside (``index.sqlite.corrupt-<time>``, with its ``-wal`` and ``-shm``), never
deleted, and a new index is filled from the blobs. Blobs are judged one by one:

- format 2 and matching the checksum they carry: indexed again, with the row they had;
- readable but older (format 1, no digests): kept on disk and counted (``gifviz cache gc`` removes them);
- unreadable or altered: removed and counted (the field is recomputed when next needed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gifviz.store.blobs import BlobError, NotSelfDescribing, checksum, decode_self_described
from gifviz.store.index import FieldIndex, FieldRecord, IndexCorrupt

INDEX_NAME = "index.sqlite"
_SIDECARS = ("-wal", "-shm")  # SQLite's WAL files: a stale WAL replayed into a new index would corrupt it again


@dataclasses.dataclass
class RebuildReport:
    """What a rebuild or repair did. File lists hold names relative to the store's ``fields/`` folder."""

    indexed: int = 0
    old_format: list[str] = dataclasses.field(default_factory=list)
    removed_bad: list[str] = dataclasses.field(default_factory=list)
    rows_dropped: int = 0
    moved_aside: Path | None = None

    def describe(self) -> str:
        """One line, e.g. ``3 field(s) re-indexed from their blobs, 1 older blob(s) kept unindexed``."""
        parts = [f"{self.indexed} field(s) re-indexed from their blobs"]
        if self.old_format:
            parts.append(
                f"{len(self.old_format)} blob(s) of format 1 kept but not indexed (they carry no model "
                "digest; `gifviz cache gc` removes them)"
            )
        if self.removed_bad:
            parts.append(f"{len(self.removed_bad)} unreadable or altered blob(s) removed")
        if self.rows_dropped:
            parts.append(f"{self.rows_dropped} index row(s) without a good blob dropped")
        return ", ".join(parts)


@contextlib.contextmanager
def recovery_lock(home: Path) -> Iterator[None]:
    """One process at a time rebuilds or repairs the index (released by the OS if the holder dies)."""
    (home / "locks").mkdir(parents=True, exist_ok=True)
    with open(home / "locks" / "index.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_index(home: Path, notify: Callable[[str], None]) -> FieldIndex:
    """The index of the store at ``home``; a corrupt one is moved aside and rebuilt, a missing one is re-filled
    from the blobs already there. ``notify`` receives one line when either happens.

    An index that exists opens without the lock, so a long ``gc`` or ``repair`` (which hold it) never stalls other
    runs. Creating, re-filling or rebuilding one holds the lock, and a new index is set up whole under a temporary
    name before it appears (:func:`_create_index`): two processes creating one at once would otherwise both switch it
    to WAL, and SQLite answers the loser "database is locked" at once instead of waiting out its busy timeout."""
    path = home / INDEX_NAME
    if path.exists():
        try:
            return FieldIndex(path)
        except (IndexCorrupt, sqlite3.OperationalError):
            pass  # damaged, or replaced under us by a rebuild: the locked path below repairs or waits for it
    with recovery_lock(home):
        existed = path.exists()
        try:
            index = FieldIndex(path) if existed else _create_index(path)
        except IndexCorrupt as error:
            index, rebuilt = rebuild(home)
            notify(
                f"the field index {path} was corrupt ({error}); moved it to {rebuilt.moved_aside.name} and rebuilt "
                f"it: {rebuilt.describe()}"
            )
            return index
        if not existed and any(blob_files(home)):
            report = reindex(home, index)
            if report.indexed or report.old_format or report.removed_bad:
                notify(f"the field index {path} was missing; {report.describe()}")
    return index


def _create_index(path: Path) -> FieldIndex:
    """A new, empty index at ``path`` (the caller holds :func:`recovery_lock`), set up under a temporary name and
    renamed in whole: a process that opens the index without the lock never meets one half set up."""
    fresh = path.with_name(f".{path.name}.new-{os.getpid()}")
    # Closing the only connection checkpoints the WAL and removes its files; WAL mode stays in the file's header.
    FieldIndex(fresh).close()
    os.replace(fresh, path)
    return FieldIndex(path)


def rebuild(home: Path) -> tuple[FieldIndex, RebuildReport]:
    """Move the index aside and fill a new one from the blobs (the caller holds :func:`recovery_lock`)."""
    aside = move_aside(home / INDEX_NAME)
    index = _create_index(home / INDEX_NAME)
    report = reindex(home, index)
    report.moved_aside = aside
    return index, report


def move_aside(path: Path) -> Path:
    """Rename ``path`` (and its WAL files) to ``<name>.corrupt-<time>``; returns the new path of the main file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 1
    while aside.exists():  # two rebuilds in one second keep both files
        count += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
    for suffix in _SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            os.replace(sidecar, aside.with_name(aside.name + suffix))
    if path.exists():
        os.replace(path, aside)
    return aside


def blob_files(home: Path) -> Iterator[Path]:
    """Finished blobs under ``fields/`` (partial files start with a dot and end in ``.partial``)."""
    return (p for p in (home / "fields").rglob("*.safetensors") if p.is_file() and not p.name.startswith("."))


def reindex(home: Path, index: FieldIndex) -> RebuildReport:
    """Index every good self-describing blob that ``index`` lacks; remove bad blobs, count older ones."""
    known = index.keys()
    report = RebuildReport()
    records = []
    for path in sorted(blob_files(home)):
        if path.stem in known:
            continue
        name = str(path.relative_to(home / "fields"))
        try:
            records.append(record_from_blob(path))
        except NotSelfDescribing:
            report.old_format.append(name)
        except BlobError:
            path.unlink(missing_ok=True)
            report.removed_bad.append(name)
    report.indexed = index.put_many(records)
    return report


def record_from_blob(path: Path) -> FieldRecord:
    """The index row of the blob at ``path`` (its key is the file name), after checking the blob's own checksum."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BlobError(f"cannot read {path} ({error.strerror})") from None
    blob = decode_self_described(data)
    field, provenance = blob.field, blob.provenance
    return FieldRecord(
        key=path.stem,
        model_id=field.model_id,
        model_digest=provenance.model_digest,
        refs_digest=provenance.refs_digest,
        config_json=field.config.to_json(for_key=True),
        shape="x".join(str(v) for v in field.shape),
        dtype=blob.dtype,
        bytes=len(data),
        checksum=checksum(data),
        device=provenance.device,
        compute_seconds=provenance.compute_seconds,
        created=provenance.created,
        last_used=provenance.created,
    )
