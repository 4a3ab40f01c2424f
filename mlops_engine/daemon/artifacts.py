"""POST /artifacts and GET /artifacts/sha256/{hex}: the content-addressed upload endpoint."""

from __future__ import annotations

from .common import ApiError, Response, bad_request
from .engine import Engine
from .server import Request, Route, route
from .store import URL_PREFIX

MAX_ARTIFACT = 4 << 30


def _post(engine: Engine, req: Request) -> Response:
    length = req.length
    if length > MAX_ARTIFACT:
        raise ApiError(413, "PayloadTooLarge", f"Artifacts are limited to {MAX_ARTIFACT} bytes.")
    if "Content-Length" not in req.headers:
        raise ApiError(411, "LengthRequired", "POST /artifacts needs a Content-Length header.")
    try:
        digest, size = engine.store.put_stream(req.handler.rfile, length)  # type: ignore[arg-type]
    except EOFError as exc:
        raise bad_request(str(exc)) from exc
    req._body = b""  # consumed by the store
    return Response(201, {"sha256": digest, "url": URL_PREFIX + digest, "size": size})


def _get(engine: Engine, req: Request) -> Response:
    try:
        path = engine.store.path_for(req.params["hex"])
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    if not path.is_file():
        raise ApiError(404, "NotFound", "Artifact not found")
    return Response(200, raw=path.read_bytes(), content_type="application/octet-stream")


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", "/artifacts", lambda req: _post(engine, req)),
        route("GET", "/artifacts/sha256/(?P<hex>[^/]+)", lambda req: _get(engine, req)),
    ]
