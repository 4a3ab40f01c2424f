"""What every route module shares: path patterns, the addressed account, the Operation-Location header."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from ..engine import AccountScope, Engine
from ..errors import ErrorInfo
from ..jsonvalue import JSON
from ..server import Request, Response

SUB: Final = r"/subscriptions/(?P<sub>[^/]+)"
RG: Final = r"/(?i:resourceGroups)/(?P<rg>[^/]+)"
MMS: Final = r"/api" + SUB + RG + r"/accounts/(?P<acct>[^/]+)"


def bind(engine: Engine, handler: Callable[[Engine, Request], Response]) -> Callable[[Request], Response]:
    return lambda req: handler(engine, req)


def scope_of(engine: Engine, req: Request) -> AccountScope:
    """The account of an MMS path (404 AccountNotFound if it does not exist)."""
    return engine.account(req.params["sub"], req.params["rg"], req.params["acct"])


def accepted(engine: Engine, scope: AccountScope, op_id: str) -> Response:
    """202 with an empty object and the Operation-Location header (no query: the CLI takes the last segment)."""
    location = f"{engine.base_url()}{scope.base()}/operations/{op_id}"
    return Response(202, {}, headers=[("Operation-Location", location)])


def listed(items: Sequence[JSON]) -> Response:
    return Response(200, {"value": items})


def error_json(error: ErrorInfo) -> JSON:
    """An error inside a resource (operation, image, service): `{"code", "statusCode", "message", "details"}`."""
    return {
        "code": error.code,
        "statusCode": error.status,
        "message": error.message,
        "details": [{"code": d.code, "message": d.message} for d in error.details],
    }
