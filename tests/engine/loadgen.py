"""A small, bounded keep-alive load generator for fault tests (loopback only).

N threads, each holding one persistent `http.client.HTTPConnection` to 127.0.0.1, POST the same body in a
loop. Nothing is retried: every request that does not end in a 2xx response is counted, with its kind
(HTTP status, or the exception class for socket-level failures) and the time it happened, so a test can
state exactly how many requests a fault cost and when. A connection is re-opened after the server says
`Connection: close` (a draining replica does that) or after a socket error.

Bounded by construction: the generator stops at `stop()`, after `max_seconds`, or after `max_requests`,
whichever comes first, and each thread paces itself (`interval`) so the load never starves the machine.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit


@dataclass
class Failure:
    at: float  # time.monotonic() when the failure was observed
    thread: int
    kind: str  # "HTTP 503", "ConnectionResetError", ...
    detail: str


@dataclass
class Stats:
    ok: int = 0
    failed: int = 0
    connections: int = 0  # connections opened (the first one of each thread included)
    closes_by_server: int = 0  # responses carrying Connection: close (drain) -> orderly reconnect
    kinds: Counter[str] = field(default_factory=Counter)
    bodies: Counter[bytes] = field(
        default_factory=Counter
    )  # distinct 2xx bodies (bounded: 16 kinds, first 256 bytes)
    failures: list[Failure] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def summary(self) -> str:
        secs = max(self.ended - self.started, 1e-9)
        return (
            f"{self.total} requests in {secs:.1f}s ({self.total / secs:.0f}/s): "
            f"{self.ok} ok, {self.failed} failed "
            f"{dict(self.kinds)}; {self.connections} connections, {self.closes_by_server} server closes"
        )


class LoadGen:
    def __init__(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        threads: int = 4,
        interval: float = 0.002,
        max_seconds: float = 120.0,
        max_requests: int = 500_000,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":  # traffic only ever goes to the loopback
            raise ValueError(f"loadgen only targets 127.0.0.1, not {parts.hostname!r}")
        self.host, self.port, self.path = "127.0.0.1", parts.port or 80, parts.path or "/"
        self.body = body
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.threads = threads
        self.interval = interval
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.stats = Stats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> LoadGen:
        self.stats.started = time.monotonic()
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, args=(i,), name=f"loadgen-{i}", daemon=True)
            self._workers.append(t)
            t.start()
        return self

    def stop(self) -> Stats:
        self._stop.set()
        for t in self._workers:
            t.join(self.timeout + 5)
        self.stats.ended = time.monotonic()
        return self.stats

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def snapshot(self) -> tuple[int, int]:
        """(ok, failed) so far."""
        with self._lock:
            return self.stats.ok, self.stats.failed

    def wait_for_ok(self, n: int, timeout: float = 10.0) -> None:
        """Block until at least n more requests have succeeded (the load is really flowing)."""
        target = self.snapshot()[0] + n
        deadline = time.monotonic() + timeout
        while self.snapshot()[0] < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"load not flowing: {self.stats.summary()}")
            time.sleep(0.01)

    # -- worker ------------------------------------------------------------------------------------
    def _connect(self) -> http.client.HTTPConnection:
        with self._lock:
            self.stats.connections += 1
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _worker(self, index: int) -> None:
        deadline = self.stats.started + self.max_seconds
        conn = self._connect()
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                with self._lock:
                    if self.stats.total >= self.max_requests:
                        return
                reconnect = False
                try:
                    conn.request("POST", self.path, body=self.body, headers=self.headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.will_close:
                        reconnect = True
                        with self._lock:
                            self.stats.closes_by_server += 1
                    if 200 <= resp.status < 300:
                        with self._lock:
                            self.stats.ok += 1
                            if len(self.stats.bodies) < 16 or data[:256] in self.stats.bodies:
                                self.stats.bodies[data[:256]] += 1
                    else:
                        self._fail(index, f"HTTP {resp.status}", data[:200].decode("utf-8", "replace"))
                except (OSError, http.client.HTTPException) as exc:
                    self._fail(index, type(exc).__name__, str(exc))
                    reconnect = True
                if reconnect:
                    conn.close()
                    conn = self._connect()
                if self.interval:
                    time.sleep(self.interval)
        finally:
            conn.close()

    def _fail(self, index: int, kind: str, detail: str) -> None:
        with self._lock:
            self.stats.failed += 1
            self.stats.kinds[kind] += 1
            if len(self.stats.failures) < 1000:
                self.stats.failures.append(Failure(time.monotonic(), index, kind, detail))
