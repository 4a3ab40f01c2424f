"""POST /artifacts and GET /artifacts/sha256/{hex}: the content-addressed upload endpoint."""

from __future__ import annotations

from io import BufferedIOBase
from typing import Final

from ..engine import Engine
from ..errors import ApiError, bad_request
from ..server import Request, Response, Route, route
from ..storage import free_bytes, insufficient_storage, is_full
from ..store.artifacts import URL_PREFIX
from .common import bind

_DISCARD_CHUNK: Final = 1 << 20


class _Counted:
    """The request body as the store reads it, counting the bytes taken."""

    def __init__(self, stream: BufferedIOBase) -> None:
        self.stream = stream
        self.taken = 0

    def read(self, size: int, /) -> bytes:
        data = self.stream.read(size)
        self.taken += len(data)
        return data


def _discard(stream: BufferedIOBase, remaining: int) -> None:
    """Read and drop the rest of a body we will not store, so the client gets to read our answer (a client
    still sending never reads it: that was the 120 s hang of a full disk). Bounded by the socket timeout."""
    while remaining > 0:
        chunk = stream.read(min(_DISCARD_CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


def _post(engine: Engine, req: Request) -> Response:
    limit = req.limits.max_artifact
    if req.length > limit:
        raise ApiError(413, "PayloadTooLarge", f"Artifacts are limited to {limit} bytes.")
    if "Content-Length" not in req.headers:
        raise ApiError(411, "LengthRequired", "POST /artifacts needs a Content-Length header.")
    req.mark_consumed()  # the store reads the body from the stream
    doing = f"storing an upload of {req.length} bytes"
    if req.length > free_bytes(engine.paths.tmp):
        _discard(req.stream, req.length)
        raise insufficient_storage(doing, engine.paths.home, req.length)
    body = _Counted(req.stream)
    try:
        digest, size = engine.artifacts.put_stream(body, req.length)
    except EOFError as exc:
        raise bad_request(str(exc)) from exc
    except OSError as exc:
        _discard(req.stream, req.length - body.taken)
        if is_full(exc):
            raise insufficient_storage(doing, engine.paths.home, req.length) from exc
        raise ApiError(500, "InternalServerError", f"Could not store the upload: {exc}") from exc
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
