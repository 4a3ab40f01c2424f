"""`python -m mlops_engine.daemon`: run the local Model Management daemon in the foreground."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..paths import Paths
from .app import Daemon
from .engine import serving_python
from .unavailable import UnavailableSupervisor

log = logging.getLogger("mlops_engine.daemon")


def _real_supervisor() -> Any:
    from ..serving.supervisor import ReplicaSupervisor as Supervisor

    try:
        return Supervisor(python=serving_python())
    except NotImplementedError:
        log.error("mlops_engine.supervisor.Supervisor is not implemented yet: services cannot run")
        return UnavailableSupervisor("the service supervisor is not implemented yet")


def _load_factory(spec: str | None) -> Callable[[], Any]:
    if not spec:
        return _real_supervisor
    module_name, _, attr = spec.partition(":")
    factory: Callable[[], Any] = getattr(importlib.import_module(module_name), attr)
    return factory


def _setup_logging(paths: Paths, verbose: bool) -> None:
    handler = logging.FileHandler(paths.daemon_log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Access lines are kept quiet: one INFO line per request, nothing from the request headers.
    logging.getLogger("mlops_engine.daemon.access").setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_engine.daemon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    # For tests: "module:callable" returning a Supervisor-compatible object.
    parser.add_argument("--supervisor-factory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    paths = Paths.default()
    paths.ensure()
    _setup_logging(paths, args.verbose)
    daemon = Daemon(paths, _load_factory(args.supervisor_factory))

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received", signum)
        threading.Thread(target=daemon.stop, name="signal-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    daemon.serve()
    log.info("daemon exited")
    return 0


if __name__ == "__main__":
    sys.exit(main())
