"""HTTP/1.1 on an asyncio.Protocol with httptools: keep-alive, pipelining, chunked bodies, drain.

Why this shape: one replica process runs one single-threaded event loop and calls run() inline, one
request at a time (concurrency comes from several processes on the same listening socket). A
callback parser (httptools) with per-connection state in slots, constant header bytes encoded once and
one transport.write per response keep the per-request overhead to a few microseconds. Requests that
arrive pipelined are answered in order because each is handled synchronously as it completes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

import httptools

from .app import Result, error_body

if TYPE_CHECKING:
    from .server import ReplicaServer

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = int(os.environ.get("MLOPS_MAX_BODY_BYTES", str(10 * 1024 * 1024)))
"""Largest accepted request body (Content-Length or chunked total); larger ones get 413. Env MLOPS_MAX_BODY_BYTES."""

_STATUS_LINES: Final = {
    s.value: b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n" % (s.value, s.phrase.encode())
    for s in HTTPStatus
}
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_CLOSE: Final = b"Connection: close\r\n"
_KEEP_ALIVE: Final = b"Connection: keep-alive\r\n"  # HTTP/1.0 clients (ab -k) need it spelled out
_SAFE_ID: Final = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_ID_PREFIX: Final = os.urandom(10).hex()
_ID_PREFIX_B: Final = f"{_ID_PREFIX[:8]}-{_ID_PREFIX[8:12]}-{_ID_PREFIX[12:16]}-{_ID_PREFIX[16:20]}-".encode()


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "app",
        "auth",
        "body",
        "closing",
        "expect",
        "in_message",
        "parser",
        "rid",
        "server",
        "size",
        "started",
        "transport",
        "url",
    )  # fmt: skip

    def __init__(self, server: ReplicaServer) -> None:
        self.server = server
        self.app = server.app
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: bytes | bytearray = b""
        self.auth: bytes | None = None
        self.rid: bytes | None = None
        self.size = 0
        self.started = 0.0
        self.in_message = False
        self.closing = False
        self.expect = False

    # asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self.in_message:
                self._reject(400, "Protocol upgrade is not supported")
        except httptools.HttpParserError:
            self._reject(400, "Malformed HTTP request")

    def pause_writing(self) -> None:
        # a client that does not read its responses stops being read from
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    @property
    def idle(self) -> bool:
        return not self.in_message

    def close(self) -> None:
        if not self.closing and self.transport is not None:
            self.closing = True
            self.transport.close()

    # httptools callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.in_message = True
        self.started = time.perf_counter()
        self.url = b""
        self.body = b""
        self.auth = None
        self.rid = None
        self.size = 0
        self.expect = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        n = name.lower()
        if n == b"authorization":
            self.auth = value
        elif n == b"x-ms-request-id" or (n == b"x-request-id" and self.rid is None):
            self.rid = value  # x-ms-request-id wins over x-request-id
        elif n == b"expect":
            self.expect = value.lower() == b"100-continue"  # answered once the length is known
        elif n == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            self.size = MAX_BODY_BYTES + 1

    def on_headers_complete(self) -> None:
        if self.size > MAX_BODY_BYTES:
            self._reject(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
        elif self.expect:
            self.expect = False
            if self.transport is not None:
                self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self.closing:
            return
        self.size += len(body)
        if self.size > MAX_BODY_BYTES:
            self._reject(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
            return
        if not self.body:
            self.body = body
        elif type(self.body) is bytes:
            self.body = bytearray(self.body) + body  # large bodies arrive in many chunks: no quadratic copies
        else:
            self.body += body

    def on_message_complete(self) -> None:
        if self.closing:
            return
        url = self.url
        q = url.find(b"?")
        path = url if q < 0 else url[:q]
        method = self.parser.get_method()
        body = self.body
        self.body = b""
        try:
            result = self.app.handle(method, path, self.auth, body if type(body) is bytes else bytes(body))
        except Exception as exc:  # a bug of ours must not take the replica down
            log.exception("request handling failed")
            result = Result(500, error_body(500, f"{type(exc).__name__}: {exc}"))
        keep = self.parser.should_keep_alive() and not self.server.draining
        if not keep:
            conn_header = _CLOSE
        elif self.parser.get_http_version() == "1.0":
            conn_header = _KEEP_ALIVE
        else:
            conn_header = b""
        self._respond(result, conn_header, method, path)
        self.in_message = False
        if not keep:
            self.close()

    # helpers -----------------------------------------------------------------------------------
    def _request_id(self) -> bytes:
        rid = self.rid
        if rid is not None and _SAFE_ID.fullmatch(rid):
            return rid
        return b"%s%012x" % (_ID_PREFIX_B, self.server.next_id())

    def _respond(self, result: Result, conn_header: bytes, method: bytes, path: bytes) -> None:
        rid = self._request_id()
        body = result.body
        self.transport.write(  # type: ignore[union-attr]
            b"%sContent-Length: %d\r\nx-ms-request-id: %s\r\n%s%s\r\n%s"
            % (_STATUS_LINES[result.status], len(body), rid, result.headers, conn_header, body)
        )
        now = time.perf_counter()
        self.server.access_log.add(
            time.time(),
            rid.decode("ascii", "replace"),
            result.route,
            method.decode("ascii", "replace"),
            path.decode("latin-1")[:512],
            result.status,
            (now - self.started) * 1000.0,
        )

    def _reject(self, status: int, message: str) -> None:
        """Answer an unreadable or oversized request and close the connection."""
        if self.closing or self.transport is None:
            return
        if not self.in_message:
            self.started = time.perf_counter()
        try:
            method = self.parser.get_method()
        except httptools.HttpParserError:
            method = b"-"
        url = self.url
        q = url.find(b"?")
        self._respond(Result(status, error_body(status, message)), _CLOSE, method, url if q < 0 else url[:q])
        self.in_message = False
        self.close()
