"""Listening side of a replica: the private health port, accepting on the shared fd, and drain.

Why this shape: every replica of a service accepts from the same inherited listening socket, so the
kernel queue is shared and a draining replica only has to stop accepting for the others to pick up new
connections (no request is lost during a swap). We accept one connection per readiness event instead
of letting the loop empty the queue, so connections spread over the replicas instead of piling onto
whichever process woke first.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from .accesslog import FLUSH_INTERVAL_S, AccessLog
from .protocol import HttpProtocol

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger(__name__)


class ReplicaServer:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, app: App, listen_fd: int, access_log: AccessLog
    ) -> None:
        self.loop = loop
        self.app = app
        self.access_log = access_log
        self.connections: set[HttpProtocol] = set()
        self.draining = False
        self.finished: asyncio.Future[None] = loop.create_future()
        self._listen_fd = listen_fd
        self._sock: socket.socket | None = None
        self._health: asyncio.AbstractServer | None = None
        self._counter = 0
        self._pending = 0  # accepted sockets whose transport is not made yet
        self._drain_timer: asyncio.TimerHandle | None = None
        self._tick()

    def next_id(self) -> int:
        self._counter += 1
        return self._counter

    def _tick(self) -> None:
        self.access_log.flush()
        self.loop.call_later(FLUSH_INTERVAL_S, self._tick)

    async def start_health(self) -> int:
        """Listen on a private 127.0.0.1 port for the supervisor's probe; returns the port."""
        # bind it ourselves: a host name given to create_server goes through getaddrinfo on libuv's thread pool,
        # which starts 4 threads per replica for nothing
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        self._health = await self.loop.create_server(lambda: HttpProtocol(self), sock=sock)
        return int(sock.getsockname()[1])

    def serve(self) -> None:
        """Start accepting on the shared listening socket (after the supervisor's `serve`)."""
        if self._sock is not None or self.draining:
            return
        sock = socket.socket(fileno=self._listen_fd)
        sock.setblocking(False)
        self._sock = sock
        self.loop.add_reader(sock.fileno(), self._accept)
        log.info("serving on %s", sock.getsockname())

    def _accept(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EMFILE and friends: keep the listener, try again on the next event
            log.warning("accept failed: %s", exc)
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending += 1
        task = self.loop.create_task(self.loop.connect_accepted_socket(lambda: HttpProtocol(self), conn))
        task.add_done_callback(self._accepted)

    def _accepted(self, task: asyncio.Task[object]) -> None:
        self._pending -= 1
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not set up an accepted connection: %s", task.exception())
        if self.draining:
            self._check_done()

    def drain(self, timeout: float) -> None:
        """Stop accepting; close each keep-alive connection after its next response; exit when none remain."""
        if self.draining:
            return
        self.draining = True
        log.info("draining (%d open connections, timeout %.1fs)", len(self.connections), timeout)
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()  # our copy only: the other replicas keep accepting from the same queue
            self._sock = None
        if self._health is not None:
            self._health.close()
        self._drain_timer = self.loop.call_later(timeout, self._drain_timeout)
        self._check_done()

    def _drain_timeout(self) -> None:
        if self.connections:
            log.info("drain timeout: closing %d connections", len(self.connections))
        for conn in list(self.connections):
            conn.close()
        self.loop.call_later(0.1, self._finish)  # let the transports flush and close

    def connection_closed(self, conn: HttpProtocol) -> None:
        self.connections.discard(conn)
        if self.draining:
            self._check_done()

    def _check_done(self) -> None:
        if not self.connections and not self._pending:
            self._finish()

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)
