"""Buffered access log: one line per request on stdout, flushed every FLUSH_INTERVAL_S and at exit.

Why this shape: a write() per request would cost a syscall on the hot path, so lines are appended to a
list and written in one os.write by a timer. The timestamp prefix is recomputed once per second. The
format mirrors what `az ml service logs` renders (`{timestamp}, {level}, {requestId}, {apiName}, {message}`);
bodies and headers are never logged.
"""

from __future__ import annotations

import os
import time
from typing import Final

FLUSH_INTERVAL_S: Final = 0.5
FLUSH_LINES: Final = 256  # under load, write in small batches so no single flush stalls a request


class AccessLog:
    def __init__(self, fd: int = 1) -> None:
        self._fd = fd
        self._lines: list[str] = []
        self._sec = -1
        self._prefix = ""

    def add(
        self, now: float, request_id: str, route: str, method: str, path: str, status: int, latency_ms: float
    ) -> None:
        sec = int(now)
        if sec != self._sec:
            self._sec = sec
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
        ms = int((now - sec) * 1000)
        self._lines.append(
            f"{self._prefix},{ms:03d}, INFO, {request_id}, {route}, {method} {path} {status} {latency_ms:.3f} ms\n"
        )
        if len(self._lines) >= FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        data = "".join(self._lines).encode("utf-8", "replace")
        self._lines.clear()
        try:
            while data:
                n = os.write(self._fd, data)
                data = data[n:]
        except OSError:
            pass  # the log file went away; serving matters more than logging
