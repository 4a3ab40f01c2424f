"""One supervised worker process, seen from the side that feeds it (the local executor, or a Dask task).

Neither a process pool nor Dask can stop a running function, so ``run_invocation_timeout`` is enforced here:
the wait for an answer has a deadline, and past it the worker's whole process group is killed (SIGKILL) and
the attempt reported as a timeout.  A worker that dies (killed, crashed, out of memory) is reported as a crash;
either way the next mini-batch gets a fresh worker, which runs ``init()`` again.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

import mlops_engine
from mlops_engine.batch import protocol
from mlops_engine.batch.plan import MiniBatch
from mlops_engine.batch.records import Outcome

log = logging.getLogger(__name__)
PACKAGE_ROOT: Final = str(Path(mlops_engine.__file__).resolve().parent.parent)


def init_timeout(run_invocation_timeout: float) -> float:
    """Azure ML fails a job whose workers are stuck in init() longer than 3 x run_invocation_timeout + 30 s."""
    return 3 * run_invocation_timeout + 30.0


class WorkerHandle:
    """Starts the worker on first use; ``run`` returns an :class:`Outcome` and never raises for worker faults."""

    def __init__(
        self,
        config: protocol.WorkerConfig,
        python: str | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.python = python or sys.executable
        self.cancelled = cancelled
        self.proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self.start_log.parent.mkdir(parents=True, exist_ok=True)
        with self.start_log.open("ab") as start_log:
            proc = self._popen(env, start_log)
        assert proc.stdin is not None
        try:
            protocol.write_message(proc.stdin, self.config)
        except OSError:  # it died at once; waiting for init() reports how (and its start-up log)
            pass
        return proc

    def _popen(self, env: dict[str, str], start_log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [self.python, "-m", "mlops_engine.batch.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=start_log,  # until the worker moves fd 2 to its user log: interpreter or import failures
            cwd=str(
                Path(self.config.entry_script).parent
            ),  # Azure ML: files beside the script are in the cwd
            env=env,
            start_new_session=True,  # its own process group: a kill takes the user's subprocesses too
        )

    @property
    def start_log(self) -> Path:
        return (
            Path(self.config.log_dir)
            / "sys"
            / "node"
            / self.config.node_id
            / f"{self.config.agent_name}.start.txt"
        )

    def prestart(self) -> None:
        """Spawn now (the interpreter, imports and init() overlap with the engine's planning); run() waits."""
        with self._lock:
            if self.proc is None:
                self.proc = self._spawn()
                self._ready = False

    def _await_ready(self, timeout: float) -> Outcome | None:
        """Wait for init(); an Outcome if that failed."""
        assert self.proc is not None and self.proc.stdout is not None
        try:
            message = protocol.receive(self.proc.stdout.fileno(), time.monotonic() + timeout, self.cancelled)
        except protocol.Timeout:
            self.kill()
            self.proc = None
            return Outcome(
                -1, "init_failed", error=f"init() did not finish within {timeout:g} s", worker=self.name
            )
        except protocol.Cancelled:
            self.kill()
            self.proc = None
            return Outcome(-1, "cancelled", worker=self.name)
        except (EOFError, OSError):
            return Outcome(-1, "init_failed", error=self._death(), worker=self.name)
        if isinstance(message, protocol.InitFailed):
            self.kill()
            self.proc = None
            return Outcome(-1, "init_failed", error=message.error, worker=self.name)
        self._ready = True
        return None

    @property
    def name(self) -> str:
        return f"{self.config.node_id}/{self.config.agent_name}"

    def _death(self) -> str:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.kill()
        self.proc = None
        try:
            tail = self.start_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        except OSError:
            tail = []
        detail = ("; its start-up log ends:\n" + "\n".join(tail)) if tail and code != -9 else ""
        return f"worker process {self.name} died ({how}){detail}"

    def run(self, batch: MiniBatch, attempt: int, timeout: float) -> Outcome:
        if self.proc is not None and self._ready and self.proc.poll() is not None:  # died while idle
            self.kill()
            self.proc = None
        if self.proc is None:
            self.prestart()
        if not self._ready:
            failed = self._await_ready(init_timeout(timeout))
            if failed is not None:
                return Outcome(batch.index, failed.status, batch.items, error=failed.error, worker=self.name)
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        began = time.monotonic()
        try:
            protocol.write_message(self.proc.stdin, protocol.RunBatch(batch, attempt))
            message = protocol.receive(self.proc.stdout.fileno(), began + timeout, self.cancelled)
        except protocol.Timeout:
            self.kill()
            error = f"{batch.describe()}: run() did not return within run_invocation_timeout={timeout:g} s; killed"
            return Outcome(
                batch.index, "timeout", batch.items, error=error, worker=self.name, seconds=timeout
            )
        except protocol.Cancelled:
            self.kill()
            return Outcome(batch.index, "cancelled", batch.items, worker=self.name)
        except (EOFError, BrokenPipeError, OSError):
            error = f"{self._death()} while running {batch.describe()}"
            return Outcome(batch.index, "crash", batch.items, error=error, worker=self.name)
        seconds = time.monotonic() - began
        if isinstance(message, protocol.BatchDone):
            return Outcome(
                batch.index,
                "ok",
                message.items,
                message.returned,
                message.payload,
                message.header,
                worker=self.name,
                seconds=seconds,
            )
        if isinstance(message, protocol.BatchFailed):
            return Outcome(
                batch.index, "error", message.items, error=message.error, worker=self.name, seconds=seconds
            )
        self.kill()
        return Outcome(
            batch.index, "crash", batch.items, error=f"unexpected message {message!r}", worker=self.name
        )

    def kill(self) -> None:
        with self._lock:
            proc = self.proc
        if proc is None:
            return
        try:  # the group too: the user's own subprocesses must not outlive the worker
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def stop(self, grace: float = 2.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``grace`` seconds."""
        with self._lock:
            proc = self.proc
        if proc is None:
            return
        if proc.poll() is None and proc.stdin is not None:
            try:
                protocol.write_message(proc.stdin, protocol.Stop())
                proc.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.proc = None
