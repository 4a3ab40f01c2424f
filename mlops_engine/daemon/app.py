"""Daemon assembly: token, port choice, route table, daemon.json, start-up recovery and shutdown."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..paths import Paths
from ..serving.process import REPLICA_MODULE
from . import accounts, artifacts, deployments, environments, images, manifests, models, operations, services
from .common import Response
from .engine import Engine
from .server import EngineHTTPServer, Request, Router, route

if TYPE_CHECKING:
    from ..serving.api import Supervisor

log = logging.getLogger(__name__)


def ensure_token(paths: Paths) -> str:
    """Read daemon/token, creating it (64 hex, mode 0600) if missing."""
    path = paths.token_file
    try:
        token = path.read_text().strip()
        if len(token) == 64:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_hex(32)
    tmp = paths.tmp / f"token-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return token


def write_json_atomic(paths: Paths, target: os.PathLike[str] | str, data: dict[str, Any]) -> None:
    """tmp file in Paths.tmp, fsync, os.replace."""
    tmp = paths.tmp / f"{os.path.basename(target)}.{os.getpid()}.tmp"
    with open(tmp, "w") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)


def clean_tmp(paths: Paths) -> None:
    """Staging left by a crash (half-built images, partial uploads) is discarded at start."""
    for entry in paths.tmp.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            _make_writable(entry)
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


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


def _make_writable(root: os.PathLike[str]) -> None:
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o700)


def _candidate_ports(paths: Paths) -> list[int]:
    if os.environ.get("MLOPS_DAEMON_PORT"):
        return [int(os.environ["MLOPS_DAEMON_PORT"])]
    try:
        previous = int(json.loads(paths.daemon_info.read_text())["port"])
        return [previous, 0]
    except (OSError, ValueError, KeyError, TypeError):
        return [0]


class Daemon:
    """One running daemon: `serve()` blocks until POST /shutdown or `stop()`."""

    def __init__(self, paths: Paths, supervisor_factory: Callable[[], Supervisor]) -> None:
        self.paths = paths
        paths.ensure()
        self.token = ensure_token(paths)
        clean_tmp(paths)
        reap_orphan_replicas(paths)
        self.engine = Engine.open(paths, supervisor_factory())
        self.server = self._bind()
        self.engine.port = self.server.server_address[1]
        self._stopped = threading.Event()

    def _bind(self) -> EngineHTTPServer:
        router = Router(self._routes())
        ports = _candidate_ports(self.paths)
        for port in ports:
            try:
                return EngineHTTPServer(("127.0.0.1", port), router, self.token)
            except OSError:
                if port == ports[-1]:
                    raise
                log.info("port %d is busy, trying the next candidate", port)
        raise AssertionError("unreachable")

    def _routes(self) -> list[Any]:
        e = self.engine
        table = [
            route("GET", "/info", self._info),
            route("POST", "/shutdown", self._shutdown),
        ]
        for module in (accounts, artifacts, environments, models, manifests, images, services, operations):
            table.extend(module.routes(e))
        return table

    def _info(self, req: Request) -> Response:
        e = self.engine
        return Response(
            200,
            {"subscriptionId": e.subscription_id, "version": e.version, "pid": os.getpid(), "port": e.port},
        )

    def _shutdown(self, req: Request) -> Response:
        def _later() -> None:
            threading.Thread(target=self.stop, name="shutdown", daemon=True).start()

        return Response(202, {}, after=_later)

    def serve(self) -> None:
        """Recover interrupted work, publish daemon.json, serve until stopped."""
        operations.recover(self.engine)
        images.recover(self.engine)
        environments.recover(self.engine)
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        info = {
            "pid": os.getpid(),
            "port": self.engine.port,
            "version": self.engine.version,
            "started": started,
        }
        write_json_atomic(self.paths, self.paths.daemon_info, info)
        log.info(
            "daemon %s listening on 127.0.0.1:%d (pid %d)", self.engine.version, self.engine.port, os.getpid()
        )
        threading.Thread(target=deployments.restore, args=(self.engine,), name="restore", daemon=True).start()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            # daemon.json is kept: its port is reused at the next start (the CLI re-checks /info).
            self.server.server_close()
            self._stopped.set()

    def stop(self) -> None:
        """Stop replicas (desired state is kept), then the HTTP server."""
        if self.engine.stopping.is_set():
            return
        self.engine.stopping.set()
        log.info("shutting down: stopping every replica")
        try:
            self.engine.supervisor.shutdown()
        except Exception:
            log.exception("supervisor shutdown failed")
        self.engine.workers.shutdown(wait=False, cancel_futures=True)
        self.server.shutdown()
