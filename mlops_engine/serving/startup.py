"""Readiness of new replicas: every `Ready` event, then a health probe on each private port, then `Serve`.

Why this shape: a replica that reported Ready has finished init(), but only a probe proves that its
HTTP side answers; `Serve` is sent only when the whole new generation passed both, so a swap never
routes a request to a replica that cannot answer it (docs/engine-api.md section 4).
"""

from __future__ import annotations

import http.client
import logging
import os
import selectors
import time
from dataclasses import dataclass
from typing import Final

from .messages import InitFailed, ProtocolError, Ready, Serve, decode_event
from .process import ReplicaProcess

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S: Final = 2.0
_SELECT_SLICE_S: Final = 0.5


@dataclass(frozen=True)
class StartFailure:
    """The replica that failed first and why (for DeployResult.error and its log tail)."""

    replica: ReplicaProcess
    error: str


def bring_up(replicas: list[ReplicaProcess], ready_timeout: float) -> StartFailure | None:
    """Wait for every Ready, probe each health port, then send Serve. None when all of them serve."""
    failure = _await_ready(replicas, ready_timeout)
    if failure is not None:
        return failure
    for r in replicas:
        error = probe(r.health_port)
        if error:
            return StartFailure(r, f"Health probe failed: {error}")
    now = time.monotonic()
    for r in replicas:
        if not r.send(Serve()):
            return StartFailure(r, "Replica closed its control channel before serving")
        r.state = "serving"
        r.serving_since = now
        r.close_status()  # later events are not needed; the replica ignores a closed pipe
    return None


def _await_ready(replicas: list[ReplicaProcess], ready_timeout: float) -> StartFailure | None:
    deadline = time.monotonic() + ready_timeout
    pending = set(replicas)
    bufs = {r: b"" for r in replicas}
    with selectors.DefaultSelector() as sel:
        for r in replicas:
            sel.register(r.status_fd, selectors.EVENT_READ, r)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return StartFailure(
                    next(iter(pending)), f"Replica did not become ready within {ready_timeout:.0f} s"
                )
            for key, _ in sel.select(timeout=min(remaining, _SELECT_SLICE_S)):
                r = key.data
                chunk = os.read(r.status_fd, 4096)
                if not chunk:
                    r.reap(5.0)
                    return StartFailure(r, f"Replica exited during start-up (exit code {r.proc.returncode})")
                bufs[r] += chunk
                while b"\n" in bufs[r]:
                    line, _, bufs[r] = bufs[r].partition(b"\n")
                    try:
                        event = decode_event(line)
                    except ProtocolError as exc:
                        log.warning("replica pid %d: ignoring a status line: %s", r.pid, exc)
                        continue
                    if isinstance(event, InitFailed):
                        return StartFailure(r, f"init() failed: {event.error}")
                    if isinstance(event, Ready) and r in pending:
                        r.health_port = event.health_port
                        r.state = "ready"
                        pending.discard(r)
                        sel.unregister(r.status_fd)
    return None


def probe(port: int) -> str:
    """GET / on a replica's private port; '' when healthy, else what went wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        return "" if resp.status == 200 else f"GET / answered {resp.status}"
    except (OSError, http.client.HTTPException) as exc:
        return f"GET / on port {port}: {exc}"
    finally:
        conn.close()


__all__ = ["PROBE_TIMEOUT_S", "StartFailure", "bring_up", "probe"]
