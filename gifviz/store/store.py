"""FieldStore: fields computed once, kept safely, served fast.

Layout under ``$GIFVIZ_HOME`` (default ``~/.cache/gifviz``)::

    index.sqlite            SQLite index (WAL): key, digests, config, shape, bytes, checksum, timings, last use
    fields/ab/<key>.safetensors   one blob per field, written atomically
    locks/<key>.lock        per-key lock files, so two processes never compute the same field twice

The key hashes the model digest, the reference-set digest, the canonical FieldConfig (without execution-only
options) and the blob format version: change any of them and the field is a different one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gifviz.config import FieldConfig
from gifviz.errors import GifvizError
from gifviz.field import Field
from gifviz.store.blobs import FORMAT_VERSION, BlobError, checksum, decode_field, encode_field, read_checked
from gifviz.store.blobs import write_atomically as _write_atomically
from gifviz.store.index import FieldIndex, FieldRecord

Notify = Callable[[str], None]


class StoreUnavailable(GifvizError):  # noqa: N818 (reads as a state: 'the store is unavailable')
    """The cache folder cannot be used (read-only, full, not a folder); work goes on without a cache."""


def default_home() -> Path:
    return Path(os.environ.get("GIFVIZ_HOME") or Path.home() / ".cache" / "gifviz")


def default_max_bytes() -> int | None:
    value = os.environ.get("GIFVIZ_CACHE_MAX_GB")
    if not value:
        return None
    try:
        return int(float(value) * 2**30)
    except ValueError:
        raise GifvizError(f"GIFVIZ_CACHE_MAX_GB={value!r} is not a number of gigabytes") from None


def field_key(model_digest: str, refs_digest: str, config: FieldConfig, float16: bool = False) -> str:
    """sha256 of everything that decides a stored field's content."""
    parts = [model_digest, refs_digest, config.to_json(for_key=True), f"v{FORMAT_VERSION}", "f16" if float16 else "f32"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclasses.dataclass
class StoreStats:
    """What happened in this process: hits, computations, repaired blobs, writes that failed."""

    hits: int = 0
    computed: int = 0
    repaired: int = 0
    write_failures: int = 0


class FieldStore:
    """A cache of fields on disk. ``get_or_compute`` is the one entry point most callers need.

    Args:
        home: cache folder (default ``$GIFVIZ_HOME`` or ``~/.cache/gifviz``).
        max_bytes: evict least recently used fields past this size (default ``$GIFVIZ_CACHE_MAX_GB``).
        float16: store values as float16 (half the bytes; distances change by about 1e-4).
        notify: receives one line for each problem met (a bad blob repaired, a failed write).
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
        self.float16 = float16
        self.notify = notify or (lambda message: None)
        self.stats = StoreStats()
        try:
            for folder in (self.home, self.home / "fields", self.home / "locks"):
                folder.mkdir(parents=True, exist_ok=True)
            self.index = FieldIndex(self.home / "index.sqlite")
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
        """Store ``field`` under ``key``; False (and a notification) when the disk refuses the write."""
        data = encode_field(field, self.float16)
        try:
            _write_atomically(self.blob_path(key), data)
            now = time.time()
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
        field = self.get(key)
        if field is not None:
            self.stats.hits += 1
            return field
        with self._locked(key):
            field = self.get(key)  # another process may have finished it while we waited
            if field is not None:
                self.stats.hits += 1
                return field
            started = time.perf_counter()
            field = compute()
            self.stats.computed += 1
            self.put(key, field, model_digest=model_digest, refs_digest=refs_digest, device=device,
                     seconds=time.perf_counter() - started)  # fmt: skip
            return field

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

    def gc(self) -> tuple[int, int]:
        """Remove blobs without an index row, rows without a blob, and leftover partial files.

        Returns (files removed, rows removed)."""
        known = {record.key for record in self.records()}
        files = 0
        for path in (self.home / "fields").rglob("*"):
            if path.is_file() and (path.name.endswith(".partial") or path.stem not in known):
                path.unlink(missing_ok=True)
                files += 1
        rows = 0
        for record in self.records():
            if not self.blob_path(record.key).exists():
                self.index.delete(record.key)
                rows += 1
        self.evict()
        return files, rows
