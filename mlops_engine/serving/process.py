"""One replica process as the supervisor holds it: spawn it, send it commands, read its log, stop it.

Why this shape: a replica is started as `python -P -m mlops_engine.serving.replica` from the engine
installed in the serving interpreter (editable or wheel): nothing is put on PYTHONPATH, and `-P` keeps
the daemon's working directory off sys.path, so a checkout the daemon happens to run in is never
imported by mistake. It inherits exactly two descriptors, the service's listening socket and the write
end of its status pipe; keys reach it over stdin only (messages.Config).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeAlias

from ..paths import home_dir
from . import isolation
from .api import REPLICA_MODULE, ServiceSpec
from .messages import Command, Config

log = logging.getLogger(__name__)

BACKLOG: Final = 1024
LOG_TAIL_LINES: Final = 30
_SINGLE_THREAD_ENV: Final = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# access-log lines of other replicas sharing a log file are left out of a failing replica's tail
_ACCESS_LINE: Final = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}, INFO, [^,]*, (score|health|swagger|unknown), "
)

ReplicaState: TypeAlias = Literal["starting", "ready", "serving", "draining", "exited"]


@dataclass(eq=False)
class ReplicaProcess:
    """A spawned replica: its process, the read end of its status pipe (-1 once closed) and its log."""

    image_id: str
    proc: subprocess.Popen[bytes]
    status_fd: int
    log_path: Path
    log_offset: int  # where this process's lines start in a log file shared with its predecessors
    restarts: int = 0
    state: ReplicaState = "starting"
    health_port: int = 0
    serving_since: float = 0.0
    kill_at: float = 0.0  # monotonic deadline of a draining replica, then SIGKILL

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def send(self, command: Command) -> bool:
        """Write one command on the replica's stdin; False when the replica no longer reads it."""
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return False
        try:
            stdin.write(command.encode())
            stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def close_status(self) -> None:
        if self.status_fd >= 0:
            os.close(self.status_fd)
            self.status_fd = -1

    def close_control(self) -> None:
        """Close both pipes: EOF on stdin tells a replica that is not draining yet to drain and exit."""
        self.close_status()
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def log_tail(self) -> str:
        """This process's last LOG_TAIL_LINES log lines, access-log lines left out."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if not _ACCESS_LINE.match(ln)]
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def kill(self) -> None:
        send_signal(self.proc, signal.SIGKILL)

    def reap(self, timeout: float) -> bool:
        """Wait for the process to exit; False if it still runs after `timeout` seconds."""
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


def spawn(python: str, spec: ServiceSpec, listen: socket.socket, log_path: Path) -> ReplicaProcess:
    """Start one replica of spec.image_id on `listen` and send it its Config; it then loads and init()s."""
    status_r, status_w = os.pipe()
    env = dict(os.environ)
    for var in _SINGLE_THREAD_ENV:  # a replica serves one request at a time: no math-library thread pools
        env.setdefault(var, "1")
    fd = listen.fileno()
    argv = [
        python, "-P", "-m", REPLICA_MODULE, "--bundle", str(spec.bundle_dir),
        "--listen-fd", str(fd), "--status-fd", str(status_w),
        "--service-name", spec.name, "--mode", spec.mode,
        *isolation.plan(spec.service_id, home_dir()).argv(),  # the replica's uid/gid: decided here only
    ]  # fmt: skip
    try:
        with open(log_path, "ab") as logf:
            offset = logf.tell()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=logf,
                stderr=logf,
                pass_fds=(fd, status_w),
                env=env,
                start_new_session=True,  # Ctrl-C on the daemon must not kill replicas mid-drain
            )
    except BaseException:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    replica = ReplicaProcess(spec.image_id, proc, status_r, log_path, offset)
    replica.send(Config(keys=spec.keys))
    return replica


def bind_listener(port: int) -> socket.socket:
    """The service's listening socket on 127.0.0.1:port (0 = ephemeral), shared by all its replicas."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def send_signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


__all__ = ["REPLICA_MODULE", "ReplicaProcess", "ReplicaState", "bind_listener", "send_signal", "spawn"]
