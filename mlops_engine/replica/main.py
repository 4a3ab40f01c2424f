"""Entry of a scoring replica: `python -m mlops_engine.replica --bundle DIR --listen-fd N --status-fd M ...`.

Why this shape: start-up order is the contract with the supervisor (docs/engine-api.md section 4):
config on stdin -> load bundle + init() -> private health port -> `ready` -> wait for `serve` before
touching the shared socket. init() failures are reported on the status fd and end the process with
exit code 3 (like azmlinfsrv's worker). After init() the heap is frozen for the garbage collector so
the model's objects are not rescanned on every collection of the hot path.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Final

from .accesslog import AccessLog
from .control import ControlReader, StatusWriter

log = logging.getLogger("mlops_engine.replica")

EXIT_INIT_FAILED: Final = 3
EOF_DRAIN_TIMEOUT_S: Final = 5.0  # stdin closed = the daemon is gone
DEFAULT_DRAIN_TIMEOUT_S: Final = 10.0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m mlops_engine.replica")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--listen-fd", required=True, type=int)
    p.add_argument("--status-fd", type=int, default=None)
    p.add_argument("--service-name", default="")
    p.add_argument("--mode", choices=("local", "cluster"), default="local")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s, %(levelname)s, replica, %(name)s, %(message)s",
    )
    status = StatusWriter(args.status_fd)
    control = ControlReader(0)
    config = control.read_line_blocking()
    if config is None or config.get("cmd") != "config":
        log.error("expected a config line on stdin")
        status.send({"event": "init_failed", "error": "no config received on stdin"})
        return 2
    try:
        app = _load_app(args, config.get("keys"))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code is init_failed
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        status.send({"event": "init_failed", "error": f"{type(exc).__name__}: {exc}"})
        return EXIT_INIT_FAILED
    gc.collect()
    gc.freeze()
    _release_free_heap()
    return _serve(args, app, control, status)


def _release_free_heap() -> None:
    """Give the memory freed by imports and init() back to the OS (glibc keeps it otherwise): lower RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _load_app(args: argparse.Namespace, keys: Any) -> Any:
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


def _serve(args: argparse.Namespace, app: Any, control: ControlReader, status: StatusWriter) -> int:
    from .server import ReplicaServer

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    access_log = AccessLog(1)
    server = ReplicaServer(loop, app, args.listen_fd, access_log)
    port = loop.run_until_complete(server.start_health())

    def on_command(cmd: dict[str, Any]) -> None:
        name = cmd["cmd"]
        if name == "serve":
            server.serve()
        elif name in ("keys", "config"):
            app.set_keys(cmd.get("keys"))
            log.info("keys updated")
        elif name == "drain":
            server.drain(float(cmd.get("timeout", DEFAULT_DRAIN_TIMEOUT_S)))
        else:
            log.warning("unknown control command %r", name)

    def on_eof() -> None:
        log.info("control channel closed: draining")
        server.drain(EOF_DRAIN_TIMEOUT_S)

    control.attach(loop, on_command, on_eof)
    loop.add_signal_handler(signal.SIGTERM, server.drain, DEFAULT_DRAIN_TIMEOUT_S)
    status.send({"event": "ready", "healthPort": port})
    log.info("ready (health port %d)", port)
    try:
        loop.run_until_complete(server.finished)
    finally:
        access_log.flush()
        sys.stdout.flush()
    log.info("drained, exiting")
    return 0
