"""POST /artifacts and GET /artifacts/sha256/{hex}: the content-addressed upload endpoint."""

from __future__ import annotations

from ..engine import Engine
from ..errors import ApiError, bad_request
from ..server import Request, Response, Route, route
from ..store.artifacts import URL_PREFIX
from .common import bind


def _post(engine: Engine, req: Request) -> Response:
    limit = req.limits.max_artifact
    if req.length > limit:
        raise ApiError(413, "PayloadTooLarge", f"Artifacts are limited to {limit} bytes.")
    if "Content-Length" not in req.headers:
        raise ApiError(411, "LengthRequired", "POST /artifacts needs a Content-Length header.")
    req.mark_consumed()  # the store reads the body from the stream
    try:
        digest, size = engine.artifacts.put_stream(req.stream, req.length)
    except EOFError as exc:
        raise bad_request(str(exc)) from exc
    return Response(201, {"sha256": digest, "url": URL_PREFIX + digest, "size": size})


def _get(engine: Engine, req: Request) -> Response:
    try:
        path = engine.artifacts.path_for(req.params["hex"])
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    if not path.is_file():
        raise ApiError(404, "NotFound", "Artifact not found")
    return Response(200, raw=path.read_bytes(), content_type="application/octet-stream")


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", "/artifacts", bind(engine, _post)),
        route("GET", "/artifacts/sha256/(?P<hex>[^/]+)", bind(engine, _get)),
    ]
