"""SQLite state (WAL): one connection per thread, explicit transactions, versioned schema."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Each entry migrates the schema from version i to i + 1; never edit a released entry, append one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE resource_groups (key TEXT PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL);
    CREATE TABLE accounts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, rg_key TEXT NOT NULL,
        name TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE environments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, rg_key TEXT NOT NULL,
        name TEXT NOT NULL, doc TEXT NOT NULL, secrets TEXT, serving TEXT);
    CREATE TABLE models (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX models_by_name ON models (account, name, version);
    CREATE INDEX models_by_account ON models (account, seq);
    CREATE TABLE manifests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX manifests_by_name ON manifests (account, name, version);
    CREATE INDEX manifests_by_account ON manifests (account, seq);
    CREATE TABLE images (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX images_by_name ON images (account, name, version);
    CREATE INDEX images_by_account ON images (account, seq);
    CREATE TABLE services (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, mode TEXT NOT NULL, env_id TEXT NOT NULL, port INTEGER NOT NULL,
        image_id TEXT NOT NULL, target_image_id TEXT NOT NULL, desired TEXT NOT NULL,
        primary_key TEXT, secondary_key TEXT, doc TEXT NOT NULL);
    CREATE UNIQUE INDEX services_by_name ON services (account, name);
    CREATE TABLE operations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        doc TEXT NOT NULL);
    """,
]


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

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.conn().execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn().execute(sql, params).fetchall()

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
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version != len(MIGRATIONS):
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS),))

    def meta(self, key: str, default_factory: Any) -> str:
        """Read a meta value, creating it with default_factory() the first time."""
        with self.tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row[0])
            value = str(default_factory())
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value
