"""MMS operations: what a create or update is doing, polled by the CLI."""

from __future__ import annotations

from ..engine import Engine
from ..errors import not_found
from ..jsonvalue import JSON
from ..server import Request, Response, Route, route
from ..store import operations as store
from ..store.records import Operation
from .common import MMS, bind, error_json, scope_of


def operation_json(op: Operation) -> JSON:
    out: dict[str, JSON] = {
        "id": op.id,
        "operationType": op.type,
        "state": op.state,
        "createdTime": op.created_time,
        "endTime": op.end_time,
        "resourceLocation": op.resource_location,
    }
    if op.error is not None:
        out["error"] = error_json(op.error)
    return out


def _get(engine: Engine, req: Request) -> Response:
    op = store.get(engine.db, req.params["id"], scope_of(engine, req).key)
    if op is None:
        raise not_found("Operation")
    return Response(200, operation_json(op))


def routes(engine: Engine) -> list[Route]:
    return [route("GET", MMS + "/operations/(?P<id>[^/]+)", bind(engine, _get))]
