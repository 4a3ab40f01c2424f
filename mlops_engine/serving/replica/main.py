"""Entry of a scoring replica: `python -m mlops_engine.serving.replica --bundle DIR --listen-fd N --status-fd M ...`.

Why this shape: start-up order is the contract with the supervisor (docs/engine-api.md section 4,
serving/messages.py): Config on stdin -> load bundle + init() -> private health port -> Ready -> wait
for Serve before touching the shared socket. Failures before Ready are reported as InitFailed on the
status fd: exit code 2 for a missing or incompatible Config, 3 for the bundle or init() (like
azmlinfsrv's worker). After init() the heap is frozen for the garbage collector so the model's objects
are not rescanned on every collection of the hot path.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, assert_never

from ..messages import (
    DEFAULT_DRAIN_TIMEOUT_S,
    PROTOCOL_VERSION,
    Command,
    Config,
    Drain,
    InitFailed,
    Keys,
    ProtocolError,
    Ready,
    Serve,
    ServiceKeys,
)
from .accesslog import AccessLog
from .control import ControlReader, StatusWriter

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("mlops_engine.serving.replica")

EXIT_BAD_CONFIG: Final = 2
EXIT_INIT_FAILED: Final = 3
EOF_DRAIN_TIMEOUT_S: Final = 5.0  # stdin closed = the daemon is gone


@dataclass(frozen=True)
class ReplicaArgs:
    """The replica's command line."""

    bundle: Path
    listen_fd: int
    status_fd: int | None
    service_name: str
    mode: str  # "local" | "cluster"
    confine: str | None = None  # serving/isolation.py Confinement, applied before any user code


def _parse_args(argv: list[str] | None) -> ReplicaArgs:
    p = argparse.ArgumentParser(prog="python -m mlops_engine.serving.replica")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--listen-fd", required=True, type=int)
    p.add_argument("--status-fd", type=int, default=None)
    p.add_argument("--service-name", default="")
    p.add_argument("--mode", choices=("local", "cluster"), default="local")
    p.add_argument("--confine", default=None)
    ns = p.parse_args(argv)
    return ReplicaArgs(ns.bundle, ns.listen_fd, ns.status_fd, ns.service_name, ns.mode, ns.confine)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s, %(levelname)s, replica, %(name)s, %(message)s",
    )
    status = StatusWriter(args.status_fd)
    problem = _confine(args)
    if problem:
        log.error("%s", problem)
        status.send(InitFailed(problem))
        return EXIT_INIT_FAILED
    control = ControlReader(0)
    config, problem = _read_config(control)
    if config is None:
        log.error("%s", problem)
        status.send(InitFailed(problem))
        return EXIT_BAD_CONFIG
    try:
        app = _load_app(args, config.keys)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code is init_failed
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        status.send(InitFailed(f"{type(exc).__name__}: {exc}"))
        return EXIT_INIT_FAILED
    gc.collect()
    gc.freeze()
    _release_free_heap()
    return _serve(args, app, control, status)


def _confine(args: ReplicaArgs) -> str:
    """Apply the spawn's confinement (serving/confine.py); '' when done, else why not."""
    if args.confine is None:
        return ""
    from ..confine import ConfinementError, apply
    from ..isolation import Confinement

    try:
        log.info("%s", apply(Confinement.parse(args.confine), args.bundle))
    except (ConfinementError, ValueError) as exc:
        return str(exc)
    return ""


def _read_config(control: ControlReader) -> tuple[Config | None, str]:
    """The Config line, or None and why it is unusable."""
    try:
        first = control.read_first()
    except ProtocolError as exc:
        return None, f"the first control line is not a config command: {exc}"
    if not isinstance(first, Config):
        return None, "no config received on stdin"
    if first.version != PROTOCOL_VERSION:
        return None, (
            f"the supervisor speaks control protocol version {first.version} and this replica version "
            f"{PROTOCOL_VERSION}: install the daemon's mlops version in the serving interpreter"
        )
    return first, ""


def _release_free_heap() -> None:
    """Give the memory freed by imports and init() back to the OS (glibc keeps it otherwise): lower RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _load_app(args: ReplicaArgs, keys: ServiceKeys | None) -> App:
    from .app import App
    from .bundle import load_bundle

    bundle = load_bundle(args.bundle)
    return App(bundle.run, bundle.schema, bundle.records, args.service_name, args.mode, keys)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve(args: ReplicaArgs, app: App, control: ControlReader, status: StatusWriter) -> int:
    from .server import ReplicaServer

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    access_log = AccessLog(1)
    server = ReplicaServer(loop, app, args.listen_fd, access_log)
    port = loop.run_until_complete(server.start_health())

    def on_command(command: Command) -> None:
        match command:
            case Serve():
                server.serve()
            case Keys(keys=keys) | Config(keys=keys):
                app.set_keys(keys)
                log.info("keys updated")
            case Drain(timeout=timeout):
                server.drain(timeout)
            case _:
                assert_never(command)

    def on_eof() -> None:
        log.info("control channel closed: draining")
        server.drain(EOF_DRAIN_TIMEOUT_S)

    control.attach(loop, on_command, on_eof)
    loop.add_signal_handler(signal.SIGTERM, server.drain, DEFAULT_DRAIN_TIMEOUT_S)
    status.send(Ready(port))
    log.info("ready (health port %d)", port)
    try:
        loop.run_until_complete(server.finished)
    finally:
        access_log.flush()
        sys.stdout.flush()
    log.info("drained, exiting")
    return 0
