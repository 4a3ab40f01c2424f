"""Schema migrations of state.db: entry i moves a database from version i to i + 1.

Never edit a released entry; append one. Each runs inside the transaction that bumps the version, so a
failed migration leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final

from .migration_v2 import run_script, to_v2
from .migration_v3 import to_v3

Migration = Callable[[sqlite3.Connection], None]

# Version 1: every resource kept as its MMS JSON document (`doc`), a few columns beside it.
_V1: Final = """
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
"""


def _to_v1(conn: sqlite3.Connection) -> None:
    run_script(conn, _V1)


MIGRATIONS: Final[list[Migration]] = [_to_v1, to_v2, to_v3]
