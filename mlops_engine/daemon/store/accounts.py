"""Resource groups and Model Management accounts in state.db."""

from __future__ import annotations

import sqlite3
from typing import Final, cast

from .codec import decode_tags, encode_tags
from .database import Database, Row
from .records import Account, ResourceGroup

_COLUMNS: Final = (
    "key, rg, name, location, tags, sku_name, sku_capacity, description, created_on, modified_on"
)
_AccountRow = tuple[str, str, str, str, str, str, int, str | None, str, str]


def _account(row: Row) -> Account:
    key, rg, name, location, tags, sku_name, sku_capacity, description, created, modified = cast(
        _AccountRow, row
    )
    return Account(
        key, rg, name, location, decode_tags(tags), sku_name, sku_capacity, description, created, modified
    )


def ensure_resource_group(conn: sqlite3.Connection, name: str, location: str) -> bool:
    """Create the resource group if missing (inside the caller's transaction); True if it was created."""
    if conn.execute("SELECT 1 FROM resource_groups WHERE key = ?", (name.lower(),)).fetchone():
        return False
    conn.execute(
        "INSERT INTO resource_groups (key, name, location) VALUES (?, ?, ?)", (name.lower(), name, location)
    )
    return True


def get_resource_group(db: Database, name: str) -> ResourceGroup | None:
    row = db.one("SELECT key, name, location FROM resource_groups WHERE key = ?", (name.lower(),))
    return ResourceGroup(*cast(tuple[str, str, str], row)) if row else None


def get(db: Database, key: str) -> Account | None:
    """The account `key` (reads inside a transaction of this thread see its writes)."""
    row = db.one(f"SELECT {_COLUMNS} FROM accounts WHERE key = ?", (key,))
    return _account(row) if row else None


def exists(db: Database, key: str) -> bool:
    return db.one("SELECT 1 FROM accounts WHERE key = ?", (key,)) is not None


def list_all(db: Database, rg: str | None = None) -> list[Account]:
    """Every account in creation order, or those of resource group `rg` (any casing)."""
    accounts = [_account(r) for r in db.all(f"SELECT {_COLUMNS} FROM accounts ORDER BY seq")]
    return accounts if rg is None else [a for a in accounts if a.rg.lower() == rg.lower()]


def save(conn: sqlite3.Connection, account: Account) -> None:
    """Insert or replace the account (its seq, hence the list order, is kept on update)."""
    a = account
    values = (a.rg, a.name, a.location, encode_tags(a.tags), a.sku_name, a.sku_capacity, a.description, a.created_on,
              a.modified_on)  # fmt: skip
    updated = conn.execute(
        "UPDATE accounts SET rg = ?, name = ?, location = ?, tags = ?, sku_name = ?, sku_capacity = ?, "
        "description = ?, created_on = ?, modified_on = ? WHERE key = ?",
        (*values, a.key),
    ).rowcount
    if not updated:
        conn.execute(
            f"INSERT INTO accounts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (a.key, *values)
        )


def delete(conn: sqlite3.Connection, key: str) -> bool:
    return conn.execute("DELETE FROM accounts WHERE key = ?", (key,)).rowcount > 0
