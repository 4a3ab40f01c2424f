"""Protocol limits of the daemon's HTTP server: request line, header lines, header count, body framing.

Why this shape: http.server accepts a 64 KiB request line and 100 header lines of 64 KiB each, and reads
a body of `Content-Length: -1` until the client closes (a thread pinned per connection). Gunicorn's
defaults are the model (conventions 21): 4,094 bytes of request line, 100 fields of 8,190 bytes, a listen
backlog of 2,048. Everything here runs before the bearer-token check and before any route, and every
refusal closes the connection (its unread bytes cannot be trusted as the next request).
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from typing import Final

LISTEN_BACKLOG: Final = 1024
IDLE_TIMEOUT_S: Final = 120.0  # per socket operation: an idle or stalled client frees its thread
_DIGITS: Final = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class HeaderLimits:
    """What one request may send before its body (answered 414 / 431 beyond)."""

    max_request_line: int = 8190  # MMS paths with a query fit many times over
    max_header_line: int = 8190
    max_headers: int = 100
    max_header_bytes: int = 64 << 10


class FramingError(Exception):
    """The request's body framing cannot be trusted: answer 400/501 and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def content_length(headers: Message) -> int:
    """The body length: 0 without the header, else one run of ASCII digits (RFC 9110 §8.6).

    A negative, signed, non-numeric or repeated-and-different value, or a Transfer-Encoding (chunked bodies
    are not supported), raises FramingError.
    """
    if headers.get("Transfer-Encoding") is not None:
        raise FramingError(501, "Transfer-Encoding is not supported by this service: send a Content-Length.")
    values = headers.get_all("Content-Length") or []
    if not values:
        return 0
    distinct = {v.strip() for v in values}
    if len(distinct) != 1:
        raise FramingError(400, "Conflicting Content-Length headers.")
    value = distinct.pop()
    if not _DIGITS.fullmatch(value):
        raise FramingError(400, f"Invalid Content-Length header {value[:40]!r}: expected a non-negative integer.")
    return int(value)


class _HeaderReader:
    """Stands in for rfile while http.client.parse_headers reads the header lines, enforcing HeaderLimits."""

    def __init__(self, raw: BufferedIOBase, limits: HeaderLimits) -> None:
        self._raw = raw
        self._limits = limits
        self._total = 0
        self._lines = 0

    def readline(self, size: int = -1) -> bytes:
        limits = self._limits
        line = self._raw.readline(limits.max_header_line + 1)
        if len(line) > limits.max_header_line:
            raise http.client.LineTooLong(f"header line longer than {limits.max_header_line} bytes")
        self._total += len(line)
        if self._total > limits.max_header_bytes:
            raise http.client.LineTooLong(f"headers larger than {limits.max_header_bytes} bytes in total")
        if line not in (b"\r\n", b"\n", b""):
            self._lines += 1
            if self._lines > limits.max_headers:
                raise http.client.HTTPException(f"more than {limits.max_headers} header fields")
        return line


class BoundedRequestHandler(BaseHTTPRequestHandler):
    """BaseHTTPRequestHandler with HeaderLimits, a socket timeout and JSON error bodies for protocol errors.

    Subclasses set `header_limits` and implement `protocol_error(status, message)` (the JSON error response).
    """

    header_limits: HeaderLimits = HeaderLimits()
    timeout = IDLE_TIMEOUT_S

    def handle_one_request(self) -> None:
        limit = self.header_limits.max_request_line
        try:
            self.raw_requestline = self.rfile.readline(limit + 1)
            if len(self.raw_requestline) > limit:
                self.requestline, self.request_version, self.command = "", "", ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, f"Request line longer than {limit} bytes.")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method {self.command[:20]!r}.")
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def parse_request(self) -> bool:
        raw = self.rfile
        self.rfile = _HeaderReader(raw, self.header_limits)  # type: ignore[assignment]
        try:
            return super().parse_request()
        finally:
            self.rfile = raw

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors (400, 414, 431, 501, ...) as the daemon's JSON error, and the connection closed."""
        self.close_connection = True
        status = HTTPStatus(code)
        text = message or status.phrase
        if explain and code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
            text = f"Request header fields too large: {explain}."
        self.protocol_error(code, text)

    def protocol_error(self, status: int, message: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError
