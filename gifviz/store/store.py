"""FieldStore: fields computed once, kept safely, served fast.

Layout under ``$GIFVIZ_HOME`` (default ``~/.cache/gifviz``)::

    index.sqlite            SQLite index (WAL): key, digests, config, shape, bytes, checksum, timings, last use
    fields/ab/<key>.safetensors   one blob per field, written atomically; it carries its index row and a checksum
    locks/<key>.lock        per-key lock files, so two processes never compute the same field twice
    locks/index.lock        taken while the index is rebuilt from the blobs (when it was found corrupt or missing)

The key hashes the model digest, the reference-set digest, the canonical FieldConfig (without execution-only
options) and the key version: change any of them and the field is a different one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import torch

from gifviz.config import FieldConfig
from gifviz.errors import ConfigError, GifvizError, NonFiniteFieldError
from gifviz.field.result import Field
from gifviz.store.blobs import BlobError, BlobProvenance, checksum, decode_field, encode_field, read_checked
from gifviz.store.blobs import write_atomically as _write_atomically
from gifviz.store.index import FieldRecord, IndexCorrupt
from gifviz.store.recovery import RebuildReport, rebuild, recovery_lock, reindex
from gifviz.store.recovery import open_index as _open_index

Notify = Callable[[str], None]
Origin = Literal["hit", "computed", "stored_elsewhere"]

# Part of every key. It names what a field's values mean, not how its blob is laid out: blob format 2 (blobs that
# describe themselves) kept it at 1, so fields stored before stay valid.
KEY_VERSION = 1


class StoreUnavailable(GifvizError):  # noqa: N818 (reads as a state: 'the store is unavailable')
    """The cache folder cannot be used (read-only, full, not a folder); work goes on without a cache."""


def default_home() -> Path:
    return Path(os.environ.get("GIFVIZ_HOME") or Path.home() / ".cache" / "gifviz")


def default_max_bytes() -> int | None:
    """``$GIFVIZ_CACHE_MAX_GB`` in bytes; ``None`` (no limit) when unset or empty.

    Anything but a positive, finite number of gigabytes is refused: a limit of 0 or less would empty the store."""
    value = os.environ.get("GIFVIZ_CACHE_MAX_GB", "").strip()
    if not value:
        return None
    fix = "set it to a positive number of gigabytes (e.g. GIFVIZ_CACHE_MAX_GB=20), or unset it for no limit"
    try:
        gigabytes = float(value)
    except ValueError:
        raise ConfigError(f"GIFVIZ_CACHE_MAX_GB={value!r} is not a number; {fix}") from None
    if not math.isfinite(gigabytes) or int(gigabytes * 2**30) < 1:
        raise ConfigError(
            f"GIFVIZ_CACHE_MAX_GB={value!r} is not a usable size limit (it would empty the store or "
            f"mean nothing); {fix}"
        )
    return int(gigabytes * 2**30)


def field_key(model_digest: str, refs_digest: str, config: FieldConfig, float16: bool = False) -> str:
    """sha256 of everything that decides a stored field's content."""
    parts = [model_digest, refs_digest, config.to_json(for_key=True), f"v{KEY_VERSION}", "f16" if float16 else "f32"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclasses.dataclass
class StoreStats:
    """What happened in this process: hits, computations, fields another process stored while this one waited for
    them, repaired blobs, writes that failed."""

    hits: int = 0
    computed: int = 0
    stored_elsewhere: int = 0
    repaired: int = 0
    write_failures: int = 0


@dataclasses.dataclass(frozen=True)
class Obtained:
    """A field and where it came from: ``hit`` (in the store when asked), ``computed`` (by this process), or
    ``stored_elsewhere`` (another process stored it while this one waited for the key's lock)."""

    field: Field
    origin: Origin


# A partial file younger than this may belong to a write in progress (another process filling the store): gc leaves it.
PARTIAL_GRACE_SECONDS = 600.0


@dataclasses.dataclass(frozen=True)
class GcReport:
    """What :meth:`FieldStore.gc` did: files removed (orphans that cannot be indexed, stale partial files), index rows
    removed (no blob), and orphan blobs indexed again instead of removed."""

    removed_files: int
    removed_rows: int
    reindexed: int

    def describe(self) -> str:
        return (
            f"re-indexed {self.reindexed} field(s) whose index row was missing; removed {self.removed_files} "
            f"unusable or partial file(s) and {self.removed_rows} index row(s) without a blob"
        )


class FieldStore:
    """A cache of fields on disk. ``get_or_compute`` is the one entry point most callers need.

    Args:
        home: cache folder (default ``$GIFVIZ_HOME`` or ``~/.cache/gifviz``).
        max_bytes: evict least recently used fields past this size (default ``$GIFVIZ_CACHE_MAX_GB``).
        float16: store values as float16 (half the bytes; distances change by about 1e-4).
        notify: receives one line for each problem met (a bad blob repaired, a failed write, an index rebuilt).

    Raises:
        StoreUnavailable: the folder cannot be used.
        ConfigError: ``max_bytes`` (or ``$GIFVIZ_CACHE_MAX_GB``) is not a positive size.
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        max_bytes: int | None = None,
        float16: bool = False,
        notify: Notify | None = None,
    ) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.max_bytes = max_bytes if max_bytes is not None else default_max_bytes()
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ConfigError(f"the store's size limit must be a positive number of bytes, not {self.max_bytes}")
        self.float16 = float16
        self.notify = notify or (lambda message: None)
        self.stats = StoreStats()
        try:
            for folder in (self.home, self.home / "fields", self.home / "locks"):
                folder.mkdir(parents=True, exist_ok=True)
            # A corrupt index is moved aside and rebuilt from the blobs (one notification), never a dead end.
            self.index = _open_index(self.home, self.notify)
        except (OSError, sqlite3.Error) as error:
            raise StoreUnavailable(
                f"cache folder {self.home} cannot be used ({error}); set GIFVIZ_HOME to a writable folder "
                "(results are still computed, just not kept)"
            ) from None

    # -- paths and locks -------------------------------------------------------------------------------------------

    def blob_path(self, key: str) -> Path:
        return self.home / "fields" / key[:2] / f"{key}.safetensors"

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Exclusive per-key lock across processes (released by the OS if the holder dies)."""
        with open(self.home / "locks" / f"{key}.lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- reading ---------------------------------------------------------------------------------------------------

    def key_for(self, model_digest: str, refs_digest: str, config: FieldConfig) -> str:
        return field_key(model_digest, refs_digest, config, self.float16)

    def contains(self, key: str) -> bool:
        return self.index.get(key) is not None and self.blob_path(key).exists()

    def get(self, key: str) -> Field | None:
        """The stored field, or None when absent. A bad blob is reported, removed and reported as absent."""
        record = self.index.get(key)
        if record is None:
            return None
        try:
            field = decode_field(read_checked(self.blob_path(key), record.checksum))
        except BlobError as error:
            self.notify(f"cached field of {record.model_id!r} was bad and is recomputed: {error}")
            self._remove(key)
            self.stats.repaired += 1
            return None
        self.index.touch(key)
        return field

    # -- writing ---------------------------------------------------------------------------------------------------

    def put(self, key: str, field: Field, *, model_digest: str, refs_digest: str, device: str, seconds: float) -> bool:
        """Store ``field`` under ``key``; False (and a notification) when the disk refuses the write.

        Raises:
            NonFiniteFieldError: the field holds NaN or inf (it would poison every distance read from the store).
        """
        if not bool(torch.isfinite(field.values).all()):
            raise NonFiniteFieldError(f"the field of {field.model_id!r} holds NaN or infinite values; not stored")
        if self.float16 and bool(field.values.abs().max() > torch.finfo(torch.float16).max):
            # As float16 it would turn to inf; the field itself is fine, only this store cannot hold it.
            self.stats.write_failures += 1
            self.notify(
                f"the field of {field.model_id!r} exceeds float16's range and is not cached; drop --float16 to cache it"
            )
            return False
        now = time.time()
        provenance = BlobProvenance(model_digest, refs_digest, device, round(seconds, 4), now)
        data = encode_field(field, self.float16, provenance)
        try:
            _write_atomically(self.blob_path(key), data)
            self.index.put(
                FieldRecord(
                    key=key,
                    model_id=field.model_id,
                    model_digest=model_digest,
                    refs_digest=refs_digest,
                    config_json=field.config.to_json(for_key=True),
                    shape="x".join(str(v) for v in field.shape),
                    dtype="float16" if self.float16 else "float32",
                    bytes=len(data),
                    checksum=checksum(data),
                    device=device,
                    compute_seconds=round(seconds, 4),
                    created=now,
                    last_used=now,
                )
            )
        except (OSError, sqlite3.Error) as error:
            self.stats.write_failures += 1
            self.notify(f"could not cache the field of {field.model_id!r} in {self.home} ({error}); continuing")
            return False
        self.evict()
        return True

    def get_or_compute(
        self, key: str, compute: Callable[[], Field], *, model_digest: str, refs_digest: str, device: str = "cpu"
    ) -> Field:
        """The stored field, or ``compute()`` once (even when several processes ask at the same moment)."""
        return self.obtain(key, compute, model_digest=model_digest, refs_digest=refs_digest, device=device).field

    def obtain(
        self, key: str, compute: Callable[[], Field], *, model_digest: str, refs_digest: str, device: str = "cpu"
    ) -> Obtained:
        """:meth:`get_or_compute`, also saying whether this process computed the field or found it stored."""
        field = self.get(key)
        if field is not None:
            self.stats.hits += 1
            return Obtained(field, "hit")
        with self._locked(key):
            field = self.get(key)  # another process may have finished it while we waited
            if field is not None:
                self.stats.stored_elsewhere += 1
                return Obtained(field, "stored_elsewhere")
            started = time.perf_counter()
            field = compute()
            self.stats.computed += 1
            self.put(
                key,
                field,
                model_digest=model_digest,
                refs_digest=refs_digest,
                device=device,
                seconds=time.perf_counter() - started,
            )
            return Obtained(field, "computed")

    # -- maintenance -----------------------------------------------------------------------------------------------

    def _remove(self, key: str) -> None:
        self.blob_path(key).unlink(missing_ok=True)
        self.index.delete(key)

    def records(self) -> list[FieldRecord]:
        return self.index.all()

    def total_bytes(self) -> int:
        return self.index.total_bytes()

    def evict(self) -> list[str]:
        """Remove least recently used fields until the store fits ``max_bytes``; returns the removed keys."""
        if self.max_bytes is None:
            return []
        removed = []
        total = self.total_bytes()
        for record in reversed(self.records()):  # oldest use first
            if total <= self.max_bytes:
                break
            self._remove(record.key)
            total -= record.bytes
            removed.append(record.key)
        return removed

    def verify(self) -> tuple[int, list[str]]:
        """Check every blob against its checksum; bad ones are removed. Returns (checked, problems)."""
        problems = []
        records = self.records()
        for record in records:
            try:
                read_checked(self.blob_path(record.key), record.checksum)
            except BlobError as error:
                problems.append(f"{record.model_id} ({record.key[:12]}): {error}; removed")
                self._remove(record.key)
        return len(records), problems

    def repair(self) -> RebuildReport:
        """``gifviz cache verify --repair``: make the index agree with the blobs, losing no good field.

        A corrupt index is moved aside and rebuilt from the blobs. Otherwise indexed blobs that fail their checksum
        are removed (as :meth:`verify` does), rows without a blob are dropped, and good self-describing blobs that
        have no row (a write cut between blob and row, an index deleted by hand) are indexed again. Older blobs
        that cannot be re-indexed are kept and counted."""
        with recovery_lock(self.home):
            try:
                self.index.check()
            except IndexCorrupt:
                self.index.close()
                self.index, report = rebuild(self.home)
                return report
            dropped = self._drop_rows_without_blob()
            _, problems = self.verify()
            report = reindex(self.home, self.index)
            report.removed_bad[:0] = problems
            report.rows_dropped = dropped
        self.evict()
        return report

    def gc(self) -> GcReport:
        """Tidy the store without losing a field another run is writing or an index lost.

        Good self-describing blobs without an index row are indexed again first (a run writes the blob before its
        row, and a lost index leaves every blob without one): only blobs that can never be indexed (unreadable,
        altered, or of the old format without a model digest) are removed, with partial files older than
        :data:`PARTIAL_GRACE_SECONDS` (younger ones may belong to a write in progress) and rows without a blob; then
        the size limit is applied.
        """
        with recovery_lock(self.home):
            report = reindex(self.home, self.index)
            known = {record.key for record in self.records()}
            now = time.time()
            files = len(report.removed_bad)
            for path in (self.home / "fields").rglob("*"):
                if not path.is_file():
                    continue
                if path.name.endswith(".partial"):
                    if now - path.stat().st_mtime < PARTIAL_GRACE_SECONDS:
                        continue
                elif path.stem in known:
                    continue
                path.unlink(missing_ok=True)
                files += 1
            rows = self._drop_rows_without_blob()
        self.evict()
        return GcReport(removed_files=files, removed_rows=rows, reindexed=report.indexed)

    def _drop_rows_without_blob(self) -> int:
        """Delete the index rows whose blob is gone; returns how many."""
        dropped = 0
        for record in self.records():
            if not self.blob_path(record.key).exists():
                self.index.delete(record.key)
                dropped += 1
        return dropped
