"""Asynchronous operations: NotStarted -> Running -> Succeeded | Failed, run in worker threads."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from .common import Response, guid, not_found, now_iso
from .engine import MMS_BASE, Account, Engine
from .server import Request, Route, route

log = logging.getLogger(__name__)


class OperationFailed(Exception):
    """Raised by an operation body: `error` becomes the operation's error object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "operation failed"))
        self.error = error


def create(engine: Engine, account: Account, op_type: str, resource_path: str, conn: Any = None) -> str:
    """Insert a NotStarted operation (inside `conn`'s transaction when given); return its id."""
    op_id = guid()
    doc = {
        "id": op_id,
        "operationType": op_type,
        "state": "NotStarted",
        "createdTime": now_iso(),
        "endTime": None,
        "resourceLocation": f"{account.base()}/{resource_path}",
    }
    sql, params = (
        "INSERT INTO operations (id, account, doc) VALUES (?, ?, ?)",
        (op_id, account.key, json.dumps(doc)),
    )
    if conn is not None:
        conn.execute(sql, params)
    else:
        with engine.db.tx() as c:
            c.execute(sql, params)
    return op_id


def location(engine: Engine, account: Account, op_id: str) -> tuple[str, str]:
    """The Operation-Location header (no query string: the CLI takes the text after the last '/')."""
    return "Operation-Location", f"{engine.base_url()}{account.base()}/operations/{op_id}"


def _update(engine: Engine, op_id: str, **changes: Any) -> None:
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM operations WHERE id = ?", (op_id,)).fetchone()
        if row is None:
            return
        doc = json.loads(row[0])
        doc.update(changes)
        conn.execute("UPDATE operations SET doc = ? WHERE id = ?", (json.dumps(doc), op_id))


def run(
    engine: Engine, op_id: str, body: Callable[[], None], on_error: Callable[[dict[str, Any]], None]
) -> None:
    """Run `body` in a worker; OperationFailed or any exception marks the operation Failed."""

    def _work() -> None:
        _update(engine, op_id, state="Running")
        try:
            body()
        except OperationFailed as failed:
            _fail(failed.error)
        except Exception as exc:
            log.exception("operation %s crashed", op_id)
            _fail(
                {
                    "code": "InternalServerError",
                    "statusCode": 500,
                    "message": f"Internal error: {exc}",
                    "details": [{"code": "InternalError", "message": repr(exc)}],
                }
            )
        else:
            _update(engine, op_id, state="Succeeded", endTime=now_iso())

    def _fail(error: dict[str, Any]) -> None:
        try:
            on_error(error)
        except Exception:
            log.exception("operation %s: failure handler crashed", op_id)
        _update(engine, op_id, state="Failed", endTime=now_iso(), error=error)

    engine.workers.submit(_work)


def recover(engine: Engine) -> None:
    """Operations interrupted by a daemon crash are Failed (their work is not resumed)."""
    rows = engine.db.all("SELECT id, doc FROM operations")
    for op_id, raw in rows:
        doc = json.loads(raw)
        if doc["state"] in ("NotStarted", "Running"):
            _update(
                engine,
                op_id,
                state="Failed",
                endTime=now_iso(),
                error={
                    "code": "InternalServerError",
                    "statusCode": 500,
                    "message": "The daemon stopped while the operation was running; run the command again.",
                    "details": [
                        {
                            "code": "DaemonRestarted",
                            "message": "The operation was interrupted by a daemon restart.",
                        }
                    ],
                },
            )


def _get(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    row = engine.db.one(
        "SELECT doc FROM operations WHERE id = ? AND account = ?", (req.params["id"], account.key)
    )
    if row is None:
        raise not_found("Operation")
    return Response(200, raw=row[0].encode())


def routes(engine: Engine) -> list[Route]:
    return [route("GET", MMS_BASE + "/operations/(?P<id>[^/]+)", lambda req: _get(engine, req))]
