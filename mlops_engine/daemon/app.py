"""Daemon assembly: token, port choice, route table, daemon.json, start-up recovery and shutdown."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading

from ..paths import Paths
from ..tokenfile import TokenFileError, read_token
from .engine import Engine
from .ids import now_iso
from .jsonvalue import JSON
from .routes import batch as batch_api
from .routes import pipelines as pipeline_api
from .routes import resource_routes
from .server import EngineHTTPServer, Limits, Request, Response, Route, Router, route
from .store.files import clean_tmp, write_atomic, write_json_atomic
from .work import builds, deployments, operations, provisioning
from .work.batch_runtime import BatchRuntime
from .work.orphans import reap_orphan_replicas
from .work.supervision import Supervisor, SupervisorFactory, prepare_home

log = logging.getLogger(__name__)


def ensure_token(paths: Paths) -> str:
    """Read daemon/token, creating it (64 hex, mode 0600) if missing, replacing it if damaged."""
    try:
        return read_token(paths.token_file)
    except FileNotFoundError:
        pass
    except TokenFileError as exc:
        log.warning("%s: writing a new token (clients read it again)", exc)
    token = secrets.token_hex(32)
    write_atomic(paths.token_file, token.encode(), paths.tmp, mode=0o600)
    return token


def _candidate_ports(paths: Paths) -> list[int]:
    if os.environ.get("MLOPS_DAEMON_PORT"):
        return [int(os.environ["MLOPS_DAEMON_PORT"])]
    try:
        previous = int(json.loads(paths.daemon_info.read_text())["port"])
        return [previous, 0]
    except (OSError, ValueError, KeyError, TypeError):
        return [0]


def _supervisor(factory: SupervisorFactory) -> Supervisor:
    supervisor = factory()
    if not isinstance(supervisor, Supervisor):
        missing = [
            m
            for m in ("start", "deploy", "set_keys", "stop", "status", "shutdown")
            if not hasattr(supervisor, m)
        ]
        raise TypeError(
            f"the supervisor factory returned {type(supervisor).__name__}, which lacks {', '.join(missing)}"
        )
    return supervisor


class Daemon:
    """One running daemon: `serve()` blocks until POST /shutdown or `stop()`."""

    def __init__(
        self, paths: Paths, supervisor_factory: SupervisorFactory, limits: Limits | None = None
    ) -> None:
        self.paths = paths
        paths.ensure()
        prepare_home(paths.home)  # as root: replicas may traverse to their bundle, no further
        self.token = ensure_token(paths)
        clean_tmp(paths.tmp)
        reap_orphan_replicas(paths)
        self.engine = Engine.open(paths, _supervisor(supervisor_factory))
        self.batch = BatchRuntime(self.engine)
        self.server = self._bind(limits or Limits())
        self.server.home = paths.home
        self.engine.port = self.server.server_address[1]

    def _bind(self, limits: Limits) -> EngineHTTPServer:
        router = Router(self._routes())
        ports = _candidate_ports(self.paths)
        for port in ports:
            try:
                return EngineHTTPServer(("127.0.0.1", port), router, self.token, limits)
            except OSError:
                if port == ports[-1]:
                    raise
                log.info("port %d is busy, trying the next candidate", port)
        raise AssertionError("unreachable")

    def _routes(self) -> list[Route]:
        return (
            [
                route("GET", "/info", self._info),
                route("POST", "/shutdown", self._shutdown),
            ]
            + resource_routes(self.engine)
            + batch_api.routes(self.batch)
            + pipeline_api.routes(self.batch)
        )

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

    def recover(self) -> None:
        """Settle what a previous daemon left unfinished (operations, builds, updates, environments)."""
        operations.recover(self.engine)
        builds.recover(self.engine)
        deployments.recover(self.engine)
        provisioning.recover(self.engine)
        self.batch.recover()

    def serve(self) -> None:
        """Recover interrupted work, publish daemon.json, serve until stopped."""
        self.recover()
        info: dict[str, JSON] = {
            "pid": os.getpid(),
            "port": self.engine.port,
            "version": self.engine.version,
            "started": now_iso(),
        }
        write_json_atomic(self.paths.daemon_info, info, self.paths.tmp)
        log.info(
            "daemon %s listening on 127.0.0.1:%d (pid %d)", self.engine.version, self.engine.port, os.getpid()
        )
        threading.Thread(target=deployments.restore, args=(self.engine,), name="restore", daemon=True).start()
        self.batch.start(pipeline_api.endpoint_routes(self.batch))
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            # daemon.json is kept: its port is reused at the next start (the CLI re-checks /info).
            self.server.server_close()

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
        self.batch.shutdown()
        self.server.shutdown()
