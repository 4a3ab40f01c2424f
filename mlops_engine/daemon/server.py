"""HTTP layer: ThreadingHTTPServer, bearer auth, a regex route table, body limits and the MMS headers.

Every response carries `Server`, `Date`, `Content-Type`, `x-ms-client-request-id`, `Content-Length` in
that order (docs/engine-api.md §2); every error body is rendered by `errors.render_error`.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from io import BufferedIOBase
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from .errors import ApiError, ErrorInfo, bad_request, render_error
from .httplimits import LISTEN_BACKLOG, BoundedRequestHandler, FramingError, HeaderLimits, content_length
from .jsonvalue import JSON, JSONObject
from .storage import insufficient_storage, is_full

log = logging.getLogger(__name__)
access_log = logging.getLogger("mlops_engine.daemon.access")

JSON_TYPE: Final = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Limits:
    """Request limits of one server (JSON bodies are read into memory; artifacts stream to disk)."""

    max_json_body: int = 64 << 20
    max_artifact: int = 4 << 30
    headers: HeaderLimits = field(default_factory=HeaderLimits)


@dataclass
class Request:
    """One parsed request; the body is read lazily (artifact uploads stream it)."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    stream: BufferedIOBase
    limits: Limits
    params: dict[str, str] = field(default_factory=dict)
    _body: bytes | None = None

    @property
    def length(self) -> int:
        """The declared body length (the HTTP layer refused a request whose framing is invalid)."""
        try:
            return content_length(self.headers)
        except FramingError as exc:
            raise bad_request(str(exc)) from exc

    @property
    def consumed(self) -> bool:
        return self._body is not None

    def mark_consumed(self) -> None:
        """The handler read the body from `stream` itself."""
        self._body = b""

    def body(self) -> bytes:
        if self._body is None:
            limit = self.limits.max_json_body
            if self.length > limit:
                raise ApiError(413, "PayloadTooLarge", f"Request body larger than {limit} bytes.")
            self._body = self.stream.read(self.length) if self.length else b""
        return self._body

    def json(self) -> JSONObject:
        """The body as a JSON object (400 with a clear message otherwise)."""
        raw = self.body()
        if not raw.strip():
            raise bad_request("The request body is empty; a JSON object is required.")
        try:
            value: JSON = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise bad_request("The request body must be a JSON object.")
        return value


@dataclass
class Response:
    """What a route handler returns; `raw` is sent as is, otherwise `body` is JSON-encoded."""

    status: int = 200
    body: JSON = None
    raw: bytes | None = None
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    after: Callable[[], None] | None = None  # run once the response has been sent

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


def error_response(info: ErrorInfo) -> Response:
    return Response(info.status, raw=render_error(info))


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, pattern: str, handler: Handler) -> Route:
    """A route; `pattern` is a full-match regex with named groups for path parameters."""
    return Route(method, re.compile(pattern), handler)


class Router:
    """First matching route wins; a path that matches with another method answers 405."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    def dispatch(self, request: Request) -> Response:
        allowed = False
        method = "GET" if request.method == "HEAD" else request.method  # HEAD = GET without the body
        for r in self.routes:
            match = r.pattern.fullmatch(request.path)
            if match is None:
                continue
            if r.method != method:
                allowed = True
                continue
            request.params = {k: v for k, v in match.groupdict().items() if v is not None}
            return r.handler(request)
        if allowed:
            raise ApiError(
                405, "MethodNotAllowed", f"Method {request.method} is not allowed on {request.path}."
            )
        raise ApiError(404, "NotFound", f"No resource at {request.path}.")


class EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG
    home: Path | None = None  # the engine home, named in a disk-full answer

    def __init__(
        self, address: tuple[str, int], router: Router, token: str, limits: Limits | None = None
    ) -> None:
        self.router = router
        self.token = token
        self.limits = limits or Limits()
        super().__init__(address, _RequestHandler)


class _RequestHandler(BoundedRequestHandler):
    server: EngineHTTPServer
    server_version = f"mlops-engine/{__version__}"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        self.header_limits = self.server.limits.headers

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        access_log.debug("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds no secrets (tokens travel in headers only).
        access_log.info('"%s" %s %s', self.requestline, code, size)

    def protocol_error(self, status: int, message: str) -> None:
        code = "".join(word.capitalize() for word in HTTPStatus(status).name.split("_"))
        response = error_response(ErrorInfo(status, code, message))
        response.headers.append(("Connection", "close"))
        self._send(response)

    def _handle(self) -> None:
        try:
            content_length(self.headers)  # before anything reads the body, the token check included
        except FramingError as exc:
            self.send_error(exc.status, str(exc))
            return
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        limits = self.server.limits
        request = Request(self.command, split.path, query, self.headers, self.rfile, limits)
        try:
            self._authorize()
            response = self.server.router.dispatch(request)
        except ApiError as err:
            response = error_response(err.info)
        except Exception as exc:
            log.exception("unhandled error in %s %s", self.command, split.path)
            if is_full(exc):
                info = insufficient_storage(f"handling {self.command} {split.path}", self.server.home).info
            else:
                info = ErrorInfo(500, "InternalServerError", "Internal server error; see daemon.log.")
            response = error_response(info)
        # Drain an unread body so the keep-alive connection stays usable.
        if not request.consumed and self.command in ("POST", "PUT", "PATCH"):
            try:
                length = request.length
            except ApiError:
                length = 0
            if 0 < length <= limits.max_json_body:
                self.rfile.read(length)
            elif length:
                self.close_connection = True
        self._send(response)
        if response.after is not None:
            response.after()

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            supplied.strip().encode(), self.server.token.encode()
        ):
            raise ApiError(
                401, "Unauthorized", "Missing or invalid bearer token; read it from the daemon token file."
            )

    def _send(self, response: Response) -> None:
        payload = response.payload()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("x-ms-client-request-id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle
