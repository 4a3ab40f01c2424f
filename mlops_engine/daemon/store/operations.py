"""Asynchronous operations in state.db."""

from __future__ import annotations

import sqlite3
from typing import Final, cast

from ..errors import ErrorInfo
from .codec import decode_error, encode_error
from .database import Database, Row
from .records import Operation, OperationType, WorkState

_COLUMNS: Final = "id, account, type, state, created_time, end_time, resource_location, error"
_OperationRow = tuple[str, str, str, str, str, str | None, str, str | None]


def _operation(row: Row) -> Operation:
    oid, account, kind, state, created, ended, location, error = cast(_OperationRow, row)
    return Operation(oid, account, cast(OperationType, kind), cast(WorkState, state), created, ended, location,
                     decode_error(error))  # fmt: skip


def insert(conn: sqlite3.Connection, op: Operation) -> None:
    conn.execute(
        f"INSERT INTO operations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (op.id, op.account, op.type, op.state, op.created_time, op.end_time, op.resource_location,
         encode_error(op.error)),
    )  # fmt: skip


def get(db: Database, op_id: str, account: str) -> Operation | None:
    row = db.one(f"SELECT {_COLUMNS} FROM operations WHERE id = ? AND account = ?", (op_id, account))
    return _operation(row) if row else None


def unfinished(db: Database) -> list[str]:
    return [str(r[0]) for r in db.all("SELECT id FROM operations WHERE state IN ('NotStarted', 'Running')")]


def set_state(
    db: Database, op_id: str, state: WorkState, end_time: str | None = None, error: ErrorInfo | None = None
) -> None:
    with db.tx() as conn:
        conn.execute(
            "UPDATE operations SET state = ?, end_time = ?, error = ? WHERE id = ?",
            (state, end_time, encode_error(error), op_id),
        )
