"""Asynchronous operations: NotStarted -> Running -> Succeeded | Failed, run in worker threads."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Final

from ..engine import AccountScope, Engine
from ..errors import ApiError, ErrorDetail, ErrorInfo, internal_error
from ..ids import new_guid, now_iso
from ..storage import insufficient_storage, is_full
from ..store import operations as store
from ..store.records import Operation, OperationType

log = logging.getLogger(__name__)

RESTARTED: Final = internal_error(
    "The daemon stopped while the operation was running; run the command again.",
    "DaemonRestarted",
    "The operation was interrupted by a daemon restart.",
)


def new(conn: sqlite3.Connection, scope: AccountScope, kind: OperationType, resource_path: str) -> Operation:
    """Insert a NotStarted operation inside the caller's transaction (e.g. `images/<id>`)."""
    op = Operation(
        new_guid(), scope.key, kind, "NotStarted", now_iso(), None, f"{scope.base()}/{resource_path}"
    )
    store.insert(conn, op)
    return op


def run(engine: Engine, op_id: str, body: Callable[[], None], on_error: Callable[[ErrorInfo], None]) -> None:
    """Run `body` in a worker; an ApiError it raises (or any crash) marks the operation Failed."""

    def _work() -> None:
        store.set_state(engine.db, op_id, "Running")
        try:
            body()
        except ApiError as failed:
            _fail(failed.info)
        except Exception as exc:
            log.exception("operation %s crashed", op_id)
            if is_full(exc):
                _fail(insufficient_storage(f"running operation {op_id}", engine.paths.home).info)
                return
            _fail(
                ErrorInfo(
                    500,
                    "InternalServerError",
                    f"Internal error: {exc}",
                    (ErrorDetail("InternalError", repr(exc)),),
                )
            )
        else:
            store.set_state(engine.db, op_id, "Succeeded", end_time=now_iso())

    def _fail(error: ErrorInfo) -> None:
        try:
            on_error(error)
        except Exception:
            log.exception("operation %s: failure handler crashed", op_id)
        store.set_state(engine.db, op_id, "Failed", end_time=now_iso(), error=error)

    engine.workers.submit(_work)


def recover(engine: Engine) -> None:
    """Operations interrupted by a daemon crash are Failed (their work is not resumed)."""
    for op_id in store.unfinished(engine.db):
        store.set_state(engine.db, op_id, "Failed", end_time=now_iso(), error=RESTARTED)
