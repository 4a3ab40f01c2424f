"""Service supervisor: runs scoring replicas for the daemon (docs/engine-api.md, section 4).

Why this shape: the supervisor binds each service's port once and passes the listening fd to every
replica, so the scoring URL never changes and the kernel's accept queue is shared: a swap starts the
new replicas, waits for `ready` + a health probe on their private port, tells them to `serve`, and only
then drains the old ones, which stop accepting while the new ones already do (no request is lost).
Keys go over each replica's stdin, never argv or the environment. A monitor thread restarts crashed
replicas with backoff (immediately, then 0.25 s doubling to 5 s). Two locks per service: `op_lock`
serialises long operations (start, deploy, restart, stop), `state_lock` guards the replica lists for
the monitor and status() so they never wait behind a slow init().
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

BACKLOG: Final = 1024
MONITOR_INTERVAL_S: Final = 0.05
FIRST_BACKOFF_S: Final = 0.25
MAX_BACKOFF_S: Final = 5.0
STABLE_AFTER_S: Final = 10.0  # a replica serving this long resets its slot's backoff
PROBE_TIMEOUT_S: Final = 2.0
KILL_GRACE_S: Final = 2.0  # after the drain timeout, before SIGKILL
LOG_TAIL_LINES: Final = 30
_SINGLE_THREAD_ENV: Final = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parent.parent)
# access-log lines of other replicas sharing a log file are left out of a failing replica's tail
_ACCESS_LINE: Final = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}, INFO, [^,]*, (score|health|swagger|unknown), "
)


@dataclass(frozen=True)
class ServiceSpec:
    """What should run for one service."""

    service_id: str
    name: str
    mode: str  # "local" | "cluster"
    port: int  # 0 = pick an ephemeral port at first start; the chosen one is returned by start()
    image_id: str
    bundle_dir: Path  # images/<image_id>
    replicas: int = 1
    keys: tuple[str, str] | None = None  # (primary, secondary) for cluster mode
    log_dir: Path | None = None  # services/<service_id>; replica logs are written here


@dataclass(frozen=True)
class DeployResult:
    """Outcome of start() or deploy(): ok, or why not, with the tail of the failing replica's log."""

    ok: bool
    port: int
    error: str = ""
    log_tail: str = ""


@dataclass(frozen=True)
class ReplicaStatus:
    pid: int
    state: str  # "starting" | "ready" | "serving" | "draining" | "exited"
    restarts: int
    image_id: str


@dataclass(frozen=True)
class ServiceStatus:
    service_id: str
    port: int
    live_image_id: str | None
    replicas: list[ReplicaStatus] = field(default_factory=list)


@dataclass(eq=False)
class _Replica:
    slot: int
    image_id: str
    proc: subprocess.Popen[bytes]
    status_fd: int
    log_path: Path
    log_offset: int
    restarts: int = 0
    state: str = "starting"
    health_port: int = 0
    serving_since: float = 0.0
    kill_at: float = 0.0

    def send(self, cmd: dict[str, object]) -> bool:
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return False
        try:
            stdin.write((json.dumps(cmd) + "\n").encode())
            stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def close_control(self) -> None:
        if self.status_fd >= 0:
            os.close(self.status_fd)
            self.status_fd = -1
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if not _ACCESS_LINE.match(ln)]
        return "\n".join(lines[-LOG_TAIL_LINES:])


@dataclass(eq=False)
class _Service:
    spec: ServiceSpec
    sock: socket.socket
    port: int
    log_dir: Path
    op_lock: threading.Lock = field(default_factory=threading.Lock)
    state_lock: threading.Lock = field(default_factory=threading.Lock)
    slots: list[_Replica | None] = field(default_factory=list)
    restarts: list[int] = field(default_factory=list)
    backoff: list[float] = field(default_factory=list)
    next_attempt: list[float] = field(default_factory=list)
    restarting: set[int] = field(default_factory=set)
    old: list[_Replica] = field(default_factory=list)
    generation: int = 0
    live_image_id: str | None = None
    stopped: bool = False


class Supervisor:
    """Owns the listening sockets and replica processes of every running service."""

    def __init__(self, python: str, ready_timeout: float = 60.0, drain_timeout: float = 10.0) -> None:
        self._python = python
        self._ready_timeout = ready_timeout
        self._drain_timeout = drain_timeout
        self._lock = threading.Lock()
        self._services: dict[str, _Service] = {}
        self._closed = threading.Event()
        self._monitor: threading.Thread | None = None
        self._tmp_logs: Path | None = None

    # public API ----------------------------------------------------------------------------------
    def start(self, spec: ServiceSpec) -> DeployResult:
        """Bind spec.port (0 = ephemeral), start spec.replicas replicas of spec.image_id, wait until ready."""
        with self._lock:
            existing = self._services.get(spec.service_id)
        if existing is not None:
            return self.deploy(spec)
        try:
            sock = _bind(spec.port)
        except OSError as exc:
            return DeployResult(False, spec.port, f"Cannot listen on 127.0.0.1:{spec.port}: {exc}")
        port = int(sock.getsockname()[1])
        svc = _Service(spec=spec, sock=sock, port=port, log_dir=self._log_dir(spec))
        with svc.op_lock:
            with self._lock:
                if spec.service_id in self._services:
                    sock.close()
                    return DeployResult(False, port, f"Service {spec.service_id} is already running")
                self._services[spec.service_id] = svc
            result = self._swap(svc, spec)
            if not result.ok:
                with self._lock:
                    self._services.pop(spec.service_id, None)
                svc.stopped = True
                sock.close()
        self._ensure_monitor()
        return result

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        """Safe swap to spec.image_id / spec.replicas: new replicas ready and probed, then drain the old ones.

        On failure the old replicas keep serving and DeployResult.ok is False.
        """
        svc = self._get(spec.service_id)
        if svc is None:
            return self.start(spec)
        with svc.op_lock:
            if svc.stopped:
                return DeployResult(False, svc.port, f"Service {spec.service_id} is stopped")
            return self._swap(svc, dataclasses.replace(spec, port=svc.port))

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        """Push regenerated keys to the running replicas."""
        svc = self._get(service_id)
        if svc is None:
            return
        with svc.state_lock:
            svc.spec = dataclasses.replace(svc.spec, keys=keys)
            targets = [r for r in svc.slots if r is not None] + list(svc.old)
        for r in targets:
            r.send({"cmd": "keys", "keys": list(keys)})

    def stop(self, service_id: str) -> None:
        """Drain and stop every replica of the service and close its listening socket."""
        with self._lock:
            svc = self._services.pop(service_id, None)
        if svc is not None:
            self._stop_services([svc])

    def status(self, service_id: str) -> ServiceStatus | None:
        svc = self._get(service_id)
        if svc is None:
            return None
        with svc.state_lock:
            reps = [r for r in svc.slots if r is not None] + list(svc.old)
            return ServiceStatus(
                service_id=service_id,
                port=svc.port,
                live_image_id=svc.live_image_id,
                replicas=[
                    ReplicaStatus(
                        r.proc.pid, "exited" if r.proc.poll() is not None else r.state, r.restarts, r.image_id
                    )
                    for r in reps
                ],
            )

    def shutdown(self) -> None:
        """Stop everything (daemon exit)."""
        self._closed.set()
        with self._lock:
            services = list(self._services.values())
            self._services.clear()
        self._stop_services(services)
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=2.0)

    # swap ----------------------------------------------------------------------------------------
    def _swap(self, svc: _Service, spec: ServiceSpec) -> DeployResult:
        """Bring up a new generation; on success retire the old one. Caller holds svc.op_lock."""
        new = [self._spawn(svc, spec, slot) for slot in range(max(spec.replicas, 0))]
        failed, error = self._bring_up(new)
        if failed is not None or error:
            tail = failed.log_tail() if failed is not None else ""
            self._kill(new)
            log.warning("service %s: image %s failed to start: %s", spec.service_id, spec.image_id, error)
            return DeployResult(False, svc.port, error, tail)
        with svc.state_lock:
            retired = [r for r in svc.slots if r is not None]
            svc.spec = spec
            svc.slots = list(new)
            svc.restarts = [0] * len(new)
            svc.backoff = [0.0] * len(new)
            svc.next_attempt = [0.0] * len(new)
            svc.restarting = set()
            svc.generation += 1
            svc.live_image_id = spec.image_id
            for r in retired:
                self._drain(r)
                svc.old.append(r)
        log.info("service %s: serving image %s on port %d", spec.service_id, spec.image_id, svc.port)
        return DeployResult(True, svc.port)

    def _spawn(self, svc: _Service, spec: ServiceSpec, slot: int) -> _Replica:
        log_path = svc.log_dir / f"replica-{slot}.log"
        status_r, status_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        for var in _SINGLE_THREAD_ENV:  # a replica serves one request at a time: no math-library thread pools
            env.setdefault(var, "1")
        fd = svc.sock.fileno()
        argv = [
            self._python, "-m", "mlops_engine.replica", "--bundle", str(spec.bundle_dir),
            "--listen-fd", str(fd), "--status-fd", str(status_w),
            "--service-name", spec.name, "--mode", spec.mode,
        ]  # fmt: skip
        with open(log_path, "ab") as logf:
            offset = logf.tell()
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=logf,
                    stderr=logf,
                    pass_fds=(fd, status_w),
                    env=env,
                    start_new_session=True,  # Ctrl-C on the daemon must not kill replicas mid-drain
                )
            finally:
                os.close(status_w)
        replica = _Replica(slot, spec.image_id, proc, status_r, log_path, offset)
        replica.send({"cmd": "config", "keys": list(spec.keys) if spec.keys else None})
        log.info(
            "service %s: started replica pid %d (slot %d, image %s)",
            spec.service_id,
            proc.pid,
            slot,
            spec.image_id,
        )
        return replica

    def _bring_up(self, replicas: list[_Replica]) -> tuple[_Replica | None, str]:
        """Wait for every `ready`, probe each health port, then send `serve`. Returns (failed, error)."""
        deadline = time.monotonic() + self._ready_timeout
        sel = selectors.DefaultSelector()
        bufs: dict[int, bytes] = {}
        try:
            for r in replicas:
                sel.register(r.status_fd, selectors.EVENT_READ, r)
                bufs[r.status_fd] = b""
            pending = set(replicas)
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    r = next(iter(pending))
                    return r, f"Replica did not become ready within {self._ready_timeout:.0f} s"
                for key, _ in sel.select(timeout=min(remaining, 0.5)):
                    r = key.data
                    chunk = os.read(r.status_fd, 4096)
                    if not chunk:
                        _reap(r.proc, 5.0)
                        return r, f"Replica exited during start-up (exit code {r.proc.returncode})"
                    bufs[r.status_fd] += chunk
                    while b"\n" in bufs[r.status_fd]:
                        line, _, bufs[r.status_fd] = bufs[r.status_fd].partition(b"\n")
                        event = _event(line)
                        if event.get("event") == "init_failed":
                            return r, f"init() failed: {event.get('error', '')}"
                        if event.get("event") == "ready":
                            r.health_port = int(str(event.get("healthPort", 0)))
                            r.state = "ready"
                            pending.discard(r)
                            sel.unregister(r.status_fd)
        finally:
            sel.close()
        for r in replicas:
            error = _probe(r.health_port)
            if error:
                return r, f"Health probe failed: {error}"
        now = time.monotonic()
        for r in replicas:
            if not r.send({"cmd": "serve"}):
                return r, "Replica closed its control channel before serving"
            r.state = "serving"
            r.serving_since = now
            os.close(r.status_fd)  # later events are not needed; the replica ignores a closed pipe
            r.status_fd = -1
        return None, ""

    # stopping ------------------------------------------------------------------------------------
    def _drain(self, r: _Replica) -> None:
        r.state = "draining"
        r.kill_at = time.monotonic() + self._drain_timeout + KILL_GRACE_S
        r.send({"cmd": "drain", "timeout": self._drain_timeout})
        r.close_control()

    def _kill(self, replicas: list[_Replica]) -> None:
        for r in replicas:
            r.close_control()
            if r.proc.poll() is None:
                _signal(r.proc, signal.SIGKILL)
        for r in replicas:
            _reap(r.proc, 5.0)
            r.state = "exited"

    def _stop_services(self, services: list[_Service]) -> None:
        everyone: list[_Replica] = []
        for svc in services:
            svc.stopped = True
        for svc in services:
            with svc.op_lock, svc.state_lock:
                reps = [r for r in svc.slots if r is not None] + svc.old
                svc.slots = []
                svc.old = []
            for r in reps:
                if r.state != "draining":
                    self._drain(r)
            everyone.extend(reps)
        deadline = time.monotonic() + self._drain_timeout + KILL_GRACE_S
        for r in everyone:
            if not _reap(r.proc, max(0.0, deadline - time.monotonic())):
                log.warning("replica pid %d did not drain in time: killing it", r.proc.pid)
                _signal(r.proc, signal.SIGKILL)
                _reap(r.proc, 5.0)
            r.state = "exited"
        for svc in services:
            svc.sock.close()
            log.info("service %s stopped", svc.spec.service_id)

    # monitor -------------------------------------------------------------------------------------
    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(
                    target=self._monitor_loop, name="replica-monitor", daemon=True
                )
                self._monitor.start()

    def _monitor_loop(self) -> None:
        while not self._closed.wait(MONITOR_INTERVAL_S):
            with self._lock:
                services = list(self._services.values())
            for svc in services:
                try:
                    self._check(svc)
                except Exception:  # the monitor must survive anything
                    log.exception("monitor check failed for %s", svc.spec.service_id)

    def _check(self, svc: _Service) -> None:
        now = time.monotonic()
        to_restart: list[tuple[int, int]] = []
        with svc.state_lock:
            if svc.stopped:
                return
            for slot, r in enumerate(svc.slots):
                if r is not None and r.proc.poll() is not None:
                    log.warning(
                        "service %s: replica pid %d exited with %s; restarting",
                        svc.spec.service_id, r.proc.pid, r.proc.returncode,
                    )  # fmt: skip
                    r.state = "exited"
                    r.close_control()
                    svc.slots[slot] = None
                    svc.next_attempt[slot] = now + svc.backoff[slot]
                    svc.backoff[slot] = (
                        FIRST_BACKOFF_S
                        if svc.backoff[slot] == 0
                        else min(svc.backoff[slot] * 2, MAX_BACKOFF_S)
                    )
                elif r is not None and svc.backoff[slot] and now - r.serving_since > STABLE_AFTER_S:
                    svc.backoff[slot] = 0.0
                if svc.slots[slot] is None and slot not in svc.restarting and now >= svc.next_attempt[slot]:
                    svc.restarting.add(slot)
                    to_restart.append((slot, svc.generation))
            for r in list(svc.old):
                if r.proc.poll() is not None:
                    svc.old.remove(r)
                    r.state = "exited"
                elif now > r.kill_at:
                    log.warning("replica pid %d did not drain in time: killing it", r.proc.pid)
                    _signal(r.proc, signal.SIGKILL)
        for slot, gen in to_restart:
            threading.Thread(
                target=self._restart, args=(svc, slot, gen), name=f"restart-{slot}", daemon=True
            ).start()

    def _restart(self, svc: _Service, slot: int, generation: int) -> None:
        try:
            with svc.op_lock:
                if svc.stopped or svc.generation != generation or svc.slots[slot] is not None:
                    return
                spec = svc.spec
                r = self._spawn(svc, spec, slot)
                failed, error = self._bring_up([r])
                with svc.state_lock:
                    if svc.generation != generation:
                        failed, error = r, "superseded"
                    svc.restarts[slot] += 1
                    r.restarts = svc.restarts[slot]
                    if failed is None and not error:
                        svc.slots[slot] = r
                        return
                    svc.next_attempt[slot] = time.monotonic() + svc.backoff[slot]
                    svc.backoff[slot] = min(max(svc.backoff[slot] * 2, FIRST_BACKOFF_S), MAX_BACKOFF_S)
                log.warning("service %s: restart of slot %d failed: %s", spec.service_id, slot, error)
                self._kill([r])
        finally:
            with svc.state_lock:
                svc.restarting.discard(slot)

    # helpers -------------------------------------------------------------------------------------
    def _get(self, service_id: str) -> _Service | None:
        with self._lock:
            return self._services.get(service_id)

    def _log_dir(self, spec: ServiceSpec) -> Path:
        if spec.log_dir is not None:
            spec.log_dir.mkdir(parents=True, exist_ok=True)
            return spec.log_dir
        if self._tmp_logs is None:
            self._tmp_logs = Path(tempfile.mkdtemp(prefix="mlops-replicas-"))
        d = self._tmp_logs / spec.service_id
        d.mkdir(parents=True, exist_ok=True)
        return d


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _event(line: bytes) -> dict[str, object]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _probe(port: int) -> str:
    """GET / on the replica's private port; '' when healthy."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        return "" if resp.status == 200 else f"GET / answered {resp.status}"
    except (OSError, http.client.HTTPException) as exc:
        return f"GET / on port {port}: {exc}"
    finally:
        conn.close()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


__all__ = ["DeployResult", "ReplicaStatus", "ServiceSpec", "ServiceStatus", "Supervisor"]
