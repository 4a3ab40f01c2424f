"""Replicas a killed daemon left behind, found through /proc and killed before services are restored."""

from __future__ import annotations

import logging
import os
import signal
import time

from ...paths import Paths
from .supervision import REPLICA_MODULE

log = logging.getLogger(__name__)


def reap_orphan_replicas(paths: Paths, timeout: float = 5.0) -> list[int]:
    """Kill replicas a previous daemon of this home left behind (it was killed; we are their only parent).

    A replica busy in the user's init() when its daemon died cannot see its control pipe close, and it
    still holds the service's listening socket, so the new daemon could not re-bind the port.
    """
    marker = str(paths.images).encode() + b"/"
    found: list[int] = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().split(b"\0")
        except OSError:
            continue
        if REPLICA_MODULE.encode() in cmd and any(arg.startswith(marker) for arg in cmd):
            try:
                os.kill(int(entry), signal.SIGKILL)
                found.append(int(entry))
            except OSError:
                pass
    deadline = time.monotonic() + timeout
    for pid in found:
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            try:  # not our child: only /proc tells when it is gone (zombies of init are reaped quickly)
                with open(f"/proc/{pid}/stat") as fh:
                    if fh.read().split(") ")[-1].startswith("Z"):
                        break
            except OSError:
                break
            time.sleep(0.01)
    if found:
        log.warning("killed %d replica(s) left by a previous daemon: %s", len(found), found)
    return found
