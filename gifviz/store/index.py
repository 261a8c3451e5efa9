"""The store's SQLite index (WAL mode): one row per stored field."""

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


class FieldIndex:
    """Thin wrapper over the SQLite file; every method is one short transaction (safe across processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = sqlite3.connect(str(path), timeout=60, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)

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

    def touch(self, key: str) -> None:
        self._connection.execute("UPDATE fields SET last_used = ? WHERE key = ?", (time.time(), key))

    def delete(self, key: str) -> None:
        self._connection.execute("DELETE FROM fields WHERE key = ?", (key,))

    def all(self) -> list[FieldRecord]:
        rows = self._connection.execute(f"SELECT {', '.join(COLUMNS)} FROM fields ORDER BY last_used DESC")
        return [FieldRecord(*row) for row in rows]

    def total_bytes(self) -> int:
        return int(self._connection.execute("SELECT COALESCE(SUM(bytes), 0) FROM fields").fetchone()[0])
