"""The daemon's HTTP protocol limits (issue 13, item 4): request line 414, header fields 431, body framing
400/501, all before the token check, each refusal closing the connection; a sane listen backlog."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mlops_engine.daemon.httplimits import LISTEN_BACKLOG, HeaderLimits
from mlops_engine.daemon.server import EngineHTTPServer, Limits, Request, Response, Router, route

TOKEN = "t" * 64
AUTH = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"


@pytest.fixture
def port() -> Iterator[int]:
    def echo(req: Request) -> Response:
        return Response(200, {"n": len(req.body())})

    server = EngineHTTPServer(("127.0.0.1", 0), Router([route("POST", "/echo", echo)]), TOKEN, Limits())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _exchange(port: int, head: bytes, stream_mib: int = 0) -> tuple[bytes, float]:
    """Send `head` (then `stream_mib` MiB of 'a' as long as the server reads), read until the server closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    try:
        try:
            sock.sendall(head)
            chunk = b"a" * (1 << 20)
            for _ in range(stream_mib):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending: expected
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received, time.monotonic() - started
    finally:
        sock.close()


def _status_and_body(raw: bytes) -> tuple[int, dict[str, object], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split()[1]), json.loads(body), head


def test_a_200_mb_request_line_is_refused_with_414_at_once(port: int):
    raw, elapsed = _exchange(port, b"GET /", stream_mib=200)
    status, body, head = _status_and_body(raw)
    assert status == 414 and body["code"] == "RequestUriTooLong" and b"Connection: close" in head
    assert elapsed < 5  # bounded: the 200 MB are never read (the figure is far below a second)


def test_header_limits_answer_431(port: int):
    one_mib_header = b"GET /echo HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    status, body, _ = _status_and_body(_exchange(port, one_mib_header)[0])
    assert status == 431 and "header line longer than 8190 bytes" in str(body["message"])
    many = b"GET /echo HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n"
    status, body, _ = _status_and_body(_exchange(port, many)[0])
    assert status == 431 and "more than 100 header fields" in str(body["message"])
    total = b"GET /echo HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 8000) for i in range(9)) + b"\r\n"
    status, body, _ = _status_and_body(_exchange(port, total)[0])
    assert status == 431 and "headers larger than 65536 bytes in total" in str(body["message"])


@pytest.mark.parametrize(
    ("length", "status"), [(b"-1", 400), (b"abc", 400), (b"+3", 400), (b"3, 4", 400)]
)
def test_an_invalid_content_length_is_refused_without_reading_the_body(port: int, length: bytes, status: int):
    head = b"POST /echo HTTP/1.1\r\n" + AUTH + b"Content-Length: " + length + b"\r\n\r\nabc"
    raw, elapsed = _exchange(port, head)  # returns only because the server closed the connection
    got, body, head_out = _status_and_body(raw)
    assert got == status and body["code"] == "BadRequest" and b"Connection: close" in head_out
    assert "Content-Length" in str(body["message"]) and elapsed < 5


def test_chunked_bodies_are_refused_and_a_valid_body_still_works(port: int):
    chunked = b"POST /echo HTTP/1.1\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    status, body, _ = _status_and_body(_exchange(port, chunked)[0])
    assert status == 501 and "Content-Length" in str(body["message"])
    ok = b"POST /echo HTTP/1.1\r\n" + AUTH + b"Content-Length: 3\r\nConnection: close\r\n\r\nabc"
    status, body, _ = _status_and_body(_exchange(port, ok)[0])
    assert (status, body) == (200, {"n": 3})


def test_limits_are_configurable_and_the_backlog_is_sane():
    assert EngineHTTPServer.request_queue_size == LISTEN_BACKLOG >= 1024
    small = Limits(headers=HeaderLimits(max_request_line=64))
    server = EngineHTTPServer(("127.0.0.1", 0), Router([]), TOKEN, small)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        raw, _ = _exchange(server.server_address[1], b"GET /" + b"x" * 100 + b" HTTP/1.1\r\n\r\n")
        assert _status_and_body(raw)[0] == 414
        raw, _ = _exchange(server.server_address[1], b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert _status_and_body(raw)[0] == 401  # within the limit: on to the token check
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
