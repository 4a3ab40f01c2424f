"""Control channel with the supervisor (docs/engine-api.md section 4): JSON lines on stdin, events on --status-fd.

Why this shape: keys travel over stdin (never argv or the environment, which other users can read),
and stdin doubles as a lifeline: EOF means the daemon died, so the replica drains and exits instead of
becoming an orphan. The first line (config) is read blocking before init(); later lines are read by
the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class ControlReader:
    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._buf = b""

    def read_line_blocking(self) -> dict[str, Any] | None:
        """The next command, or None at EOF."""
        while b"\n" not in self._buf:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return _parse(line)

    def attach(
        self,
        loop: asyncio.AbstractEventLoop,
        on_command: Callable[[dict[str, Any]], None],
        on_eof: Callable[[], None],
    ) -> None:
        """Deliver the following commands from the event loop."""
        os.set_blocking(self._fd, False)

        def readable() -> None:
            try:
                chunk = os.read(self._fd, 65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                chunk = b""
            if not chunk:
                loop.remove_reader(self._fd)
                on_eof()
                return
            self._buf += chunk
            while b"\n" in self._buf:
                line, _, self._buf = self._buf.partition(b"\n")
                cmd = _parse(line)
                if cmd is not None:
                    on_command(cmd)

        loop.add_reader(self._fd, readable)
        # lines that arrived together with the config line
        while b"\n" in self._buf:
            line, _, self._buf = self._buf.partition(b"\n")
            cmd = _parse(line)
            if cmd is not None:
                loop.call_soon(on_command, cmd)


def _parse(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        cmd = json.loads(line)
    except ValueError:
        log.warning("ignoring a control line that is not JSON")
        return None
    if not isinstance(cmd, dict) or not isinstance(cmd.get("cmd"), str):
        log.warning("ignoring a control line without a cmd")
        return None
    return cmd


class StatusWriter:
    """JSON-line events to the supervisor; a vanished reader is not an error for the replica."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def send(self, event: dict[str, Any]) -> None:
        if self._fd is None:
            return
        data = (json.dumps(event) + "\n").encode()
        try:
            os.write(self._fd, data)
        except OSError as exc:
            log.warning("status fd write failed: %s", exc)
