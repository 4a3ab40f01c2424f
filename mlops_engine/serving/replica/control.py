"""The replica's side of the control channel: commands on stdin, events on --status-fd (serving/messages.py).

Why this shape: keys travel over stdin (never argv or the environment, which other users can read),
and stdin doubles as a lifeline: EOF means the daemon died, so the replica drains and exits instead of
becoming an orphan. The first line (Config) is read blocking before init(); later lines are read by
the event loop. A line that is not a command of the protocol is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from ..messages import Command, Event, ProtocolError, decode_command

log = logging.getLogger(__name__)


class ControlReader:
    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._buf = b""

    def read_first(self) -> Command | None:
        """The first command (blocking), or None at EOF; ProtocolError if the line is not a command."""
        while b"\n" not in self._buf:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return decode_command(line)

    def attach(
        self,
        loop: asyncio.AbstractEventLoop,
        on_command: Callable[[Command], None],
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
            for command in self._commands():
                on_command(command)

        loop.add_reader(self._fd, readable)
        for command in self._commands():  # lines that arrived together with the config line
            loop.call_soon(on_command, command)

    def _commands(self) -> list[Command]:
        out: list[Command] = []
        while b"\n" in self._buf:
            line, _, self._buf = self._buf.partition(b"\n")
            if not line.strip():
                continue
            try:
                out.append(decode_command(line))
            except ProtocolError as exc:
                log.warning("ignoring a control line: %s", exc)
        return out


class StatusWriter:
    """Events to the supervisor; a vanished reader is not an error for the replica."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def send(self, event: Event) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, event.encode())
        except OSError as exc:
            log.warning("status fd write failed: %s", exc)
