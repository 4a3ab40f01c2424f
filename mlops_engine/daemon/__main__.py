"""`python -m mlops_engine.daemon`: run the local Model Management daemon in the foreground."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from types import FrameType

from ..paths import Paths
from .app import Daemon
from .engine import serving_python
from .work.supervision import SupervisorFactory, process_supervisor

log = logging.getLogger("mlops_engine.daemon")


def load_factory(spec: str | None) -> SupervisorFactory:
    """The real supervisor, or for tests the `module:callable` named by --supervisor-factory."""
    if not spec:
        return process_supervisor(serving_python())
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise TypeError(f"--supervisor-factory {spec}: {attr} is not callable")
    checked: SupervisorFactory = factory
    return checked


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
    os.umask(0o077)  # everything the daemon writes in the home is its own: 0600 files, 0700 directories
    paths = Paths.default()
    paths.ensure()
    _setup_logging(paths, args.verbose)
    daemon = Daemon(paths, load_factory(args.supervisor_factory))

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
