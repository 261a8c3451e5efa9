"""The store's SQLite index (WAL mode): one row per stored field.

The index only points at blobs that describe themselves (see :mod:`gifviz.store.blobs`), so a corrupt index is
rebuilt from the blobs (see :mod:`gifviz.store.recovery`) instead of making the store unusable.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS fields (
    key TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    model_digest TEXT NOT NULL,
    refs_digest TEXT NOT NULL,
    config_json TEXT NOT NULL,
    shape TEXT NOT NULL,
    dtype TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    device TEXT NOT NULL,
    compute_seconds REAL NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS fields_last_used ON fields (last_used);
"""


@dataclasses.dataclass(frozen=True)
class FieldRecord:
    """One index row (see :data:`SCHEMA`)."""

    key: str
    model_id: str
    model_digest: str
    refs_digest: str
    config_json: str
    shape: str
    dtype: str
    bytes: int
    checksum: str
    device: str
    compute_seconds: float
    created: float
    last_used: float


COLUMNS = [f.name for f in dataclasses.fields(FieldRecord)]

# SQLite's primary result codes for a file that is not a database or whose pages are damaged (extended codes keep
# them in their low byte). Other errors (locked, read-only, disk full, cannot open) say nothing about the file.
_CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


class IndexCorrupt(Exception):  # noqa: N818 (reads as the file's state)
    """``index.sqlite`` is not a database, or SQLite's quick check finds damaged pages."""


def is_corruption(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CORRUPT_CODES


class FieldIndex:
    """Thin wrapper over the SQLite file; every method is one short transaction (safe across processes)."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the index at ``path``; raises :class:`IndexCorrupt` when the file is damaged."""
        self.path = path
        self._connection = sqlite3.connect(str(path), timeout=60, isolation_level=None, check_same_thread=False)
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(SCHEMA)
            self.check()
        except sqlite3.Error as error:
            self._connection.close()
            if is_corruption(error):
                raise IndexCorrupt(f"{error}") from None
            raise
        except IndexCorrupt:
            self._connection.close()
            raise

    def check(self) -> None:
        """SQLite's quick check (milliseconds for thousands of rows); raises :class:`IndexCorrupt` when it fails."""
        try:
            rows = [row[0] for row in self._connection.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as error:
            if is_corruption(error):
                raise IndexCorrupt(f"{error}") from None
            raise
        if rows != ["ok"]:
            raise IndexCorrupt("; ".join(str(row) for row in rows))

    def close(self) -> None:
        self._connection.close()

    def get(self, key: str) -> FieldRecord | None:
        row = self._connection.execute(f"SELECT {', '.join(COLUMNS)} FROM fields WHERE key = ?", (key,)).fetchone()
        return FieldRecord(*row) if row else None

    def put(self, record: FieldRecord) -> None:
        placeholders = ", ".join("?" for _ in COLUMNS)
        self._connection.execute(
            f"INSERT OR REPLACE INTO fields ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            dataclasses.astuple(record),
        )

    def put_many(self, records: list[FieldRecord]) -> int:
        """Add ``records`` in one transaction, leaving any row that exists already (it is at least as recent);
        returns how many were added."""
        placeholders = ", ".join("?" for _ in COLUMNS)
        before = self._connection.total_changes
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.executemany(
                f"INSERT OR IGNORE INTO fields ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                [dataclasses.astuple(record) for record in records],
            )
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")
        return self._connection.total_changes - before

    def keys(self) -> set[str]:
        return {row[0] for row in self._connection.execute("SELECT key FROM fields")}

    def touch(self, key: str) -> None:
        self._connection.execute("UPDATE fields SET last_used = ? WHERE key = ?", (time.time(), key))

    def delete(self, key: str) -> None:
        self._connection.execute("DELETE FROM fields WHERE key = ?", (key,))

    def all(self) -> list[FieldRecord]:
        rows = self._connection.execute(f"SELECT {', '.join(COLUMNS)} FROM fields ORDER BY last_used DESC")
        return [FieldRecord(*row) for row in rows]

    def total_bytes(self) -> int:
        return int(self._connection.execute("SELECT COALESCE(SUM(bytes), 0) FROM fields").fetchone()[0])
