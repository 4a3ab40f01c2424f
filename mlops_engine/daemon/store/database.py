"""state.db (SQLite, WAL): one connection per thread, explicit transactions, a versioned schema."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

from .migrations import MIGRATIONS

log = logging.getLogger(__name__)

SqlValue: TypeAlias = None | int | float | str | bytes
Row: TypeAlias = tuple[SqlValue, ...]
Params: TypeAlias = Sequence[SqlValue]


class Database:
    """Thread-safe access to state.db: a connection per thread, `tx()` for writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._migrate()

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: committed on success, rolled back on any exception."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.conn().execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self.conn().execute(sql, params).fetchall()
        return rows

    def schema_version(self) -> int:
        row = self.conn().execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        with self.tx() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} has schema version {version}, newer than this engine supports "
                    f"({len(MIGRATIONS)}): upgrade mlops or use another MLOPS_HOME"
                )
            for index in range(version, len(MIGRATIONS)):
                log.info("migrating %s to schema version %d", self.path, index + 1)
                MIGRATIONS[index](conn)
            if version != len(MIGRATIONS):
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS),))

    def meta(self, key: str, default_factory: Callable[[], str]) -> str:
        """Read a meta value, creating it with default_factory() the first time."""
        with self.tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row[0])
            value = default_factory()
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value
