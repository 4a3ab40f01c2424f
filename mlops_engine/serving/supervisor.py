"""Service supervisor: runs the scoring replicas of every service for the daemon (docs/engine-api.md, section 4).

Why this shape: the supervisor binds each service's port once and passes the listening fd to every
replica, so the scoring URL never changes and the kernel's accept queue is shared: a swap starts the
new replicas, waits until they are ready and probed (startup.py), tells them to serve, and only then
drains the old ones, which stop accepting while the new ones already do (no request is lost). A
monitor thread restarts crashed replicas slot by slot with backoff (slots.py). Two locks per service:
`op_lock` serialises long operations (start, deploy, restart, stop), `state_lock` guards the slots for
the monitor and status() so they never wait behind a slow init().
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .api import DeployResult, ReplicaStatus, ServiceSpec, ServiceStatus, Supervisor
from .messages import Drain, Keys
from .process import ReplicaProcess, bind_listener, spawn
from .slots import Slot, fresh_slots
from .startup import bring_up

log = logging.getLogger(__name__)

MONITOR_INTERVAL_S: Final = 0.05
KILL_GRACE_S: Final = 2.0  # after the drain timeout, before SIGKILL


@dataclass(eq=False)
class _Service:
    spec: ServiceSpec
    sock: socket.socket
    port: int
    log_dir: Path
    op_lock: threading.Lock = field(default_factory=threading.Lock)
    state_lock: threading.Lock = field(default_factory=threading.Lock)
    slots: list[Slot] = field(default_factory=list)  # the live generation, one per replica
    old: list[ReplicaProcess] = field(default_factory=list)  # draining replicas of earlier generations
    generation: int = 0
    live_image_id: str | None = None
    stopped: bool = False

    def processes(self) -> list[ReplicaProcess]:
        """The live generation's replicas, then the draining ones (caller holds state_lock)."""
        return [s.replica for s in self.slots if s.replica is not None] + self.old


class ReplicaSupervisor(Supervisor):
    """Owns the listening sockets and replica processes of every running service.

    It subclasses the api.Supervisor Protocol explicitly so that mypy checks every method against it.
    """

    def __init__(self, python: str, ready_timeout: float = 60.0, drain_timeout: float = 10.0) -> None:
        self._python = python
        self._ready_timeout = ready_timeout
        self._drain_timeout = drain_timeout
        self._lock = threading.Lock()
        self._services: dict[str, _Service] = {}
        self._closed = threading.Event()
        self._monitor: threading.Thread | None = None
        self._tmp_logs: Path | None = None

    # api.Supervisor ------------------------------------------------------------------------------
    def start(self, spec: ServiceSpec) -> DeployResult:
        """Bind spec.port (0 = ephemeral), start spec.replicas replicas of spec.image_id, wait until ready.

        Refused for a service that already runs (use deploy) and after shutdown().
        """
        with self._lock:
            refusal = self._refusal(spec.service_id)
        if refusal:  # before binding: the port of a running service is busy, which would hide the reason
            return DeployResult(False, spec.port, refusal)
        try:
            log_dir = self._log_dir(spec)
        except OSError as exc:
            return DeployResult(False, spec.port, f"Cannot create the replica log directory: {exc}")
        try:
            sock = bind_listener(spec.port)
        except OSError as exc:
            return DeployResult(False, spec.port, f"Cannot listen on 127.0.0.1:{spec.port}: {exc}")
        svc = _Service(spec=spec, sock=sock, port=int(sock.getsockname()[1]), log_dir=log_dir)
        with svc.op_lock:
            with self._lock:
                refusal = self._refusal(spec.service_id)
                if not refusal:
                    self._services[spec.service_id] = svc
            if refusal:
                sock.close()
                return DeployResult(False, svc.port, refusal)
            result = self._swap(svc, spec)
            if not result.ok:
                with self._lock:
                    self._services.pop(spec.service_id, None)
                svc.stopped = True
                sock.close()
        self._ensure_monitor()
        return result

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        """Safe swap of a running service to spec.image_id / spec.replicas on its port.

        New replicas ready and probed, then the old ones drain; on failure the old replicas keep serving
        and DeployResult.ok is False. Refused for a service that does not run (use start).
        """
        svc = self._get(spec.service_id)
        if svc is None:
            return DeployResult(False, spec.port, f"Service {spec.service_id} is not running")
        with svc.op_lock:
            if svc.stopped:
                return DeployResult(False, svc.port, f"Service {spec.service_id} is stopped")
            return self._swap(svc, dataclasses.replace(spec, port=svc.port))

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        """Push regenerated keys to the running replicas (and to the ones it starts later)."""
        svc = self._get(service_id)
        if svc is None:
            return
        with svc.state_lock:
            svc.spec = dataclasses.replace(svc.spec, keys=keys)
            targets = svc.processes()
        for r in targets:
            r.send(Keys(keys))

    def stop(self, service_id: str) -> None:
        """Drain and stop every replica of the service and close its listening socket."""
        with self._lock:
            svc = self._services.pop(service_id, None)
        if svc is not None:
            self._stop_services([svc])

    def status(self, service_id: str) -> ServiceStatus | None:
        """A snapshot of the service's port, live image and replicas; None when it does not run."""
        svc = self._get(service_id)
        if svc is None:
            return None
        with svc.state_lock:
            replicas = [
                ReplicaStatus(r.pid, "exited" if r.exited() else r.state, r.restarts, r.image_id)
                for r in svc.processes()
            ]
            return ServiceStatus(service_id, svc.port, svc.live_image_id, replicas)

    def shutdown(self) -> None:
        """Stop everything (daemon exit); later start() calls are refused."""
        with self._lock:
            self._closed.set()
            services = list(self._services.values())
            self._services.clear()
        self._stop_services(services)
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=2.0)

    # swap ----------------------------------------------------------------------------------------
    def _swap(self, svc: _Service, spec: ServiceSpec) -> DeployResult:
        """Bring up a new generation; on success retire the old one. Caller holds svc.op_lock."""
        new: list[ReplicaProcess] = []
        try:
            for index in range(max(spec.replicas, 0)):
                new.append(self._spawn(svc, spec, index))
        except OSError as exc:  # the serving interpreter or the log directory is unusable
            self._kill(new)
            log.warning("service %s: cannot start a replica: %s", spec.service_id, exc)
            return DeployResult(False, svc.port, f"Cannot start a replica with {self._python}: {exc}")
        failure = bring_up(new, self._ready_timeout)
        if failure is not None:
            tail = failure.replica.log_tail()
            self._kill(new)
            log.warning("service %s: image %s failed to start: %s", spec.service_id, spec.image_id, failure.error)
            return DeployResult(False, svc.port, failure.error, tail)
        with svc.state_lock:
            retired = [s.replica for s in svc.slots if s.replica is not None]
            svc.spec = spec
            svc.slots = fresh_slots(new)
            svc.generation += 1
            svc.live_image_id = spec.image_id
            for r in retired:
                self._drain(r)
                svc.old.append(r)
        log.info("service %s: serving image %s on port %d", spec.service_id, spec.image_id, svc.port)
        return DeployResult(True, svc.port)

    def _spawn(self, svc: _Service, spec: ServiceSpec, index: int) -> ReplicaProcess:
        replica = spawn(self._python, spec, svc.sock, svc.log_dir / f"replica-{index}.log")
        log.info(
            "service %s: started replica pid %d (slot %d, image %s)",
            spec.service_id, replica.pid, index, spec.image_id,
        )  # fmt: skip
        return replica

    # stopping ------------------------------------------------------------------------------------
    def _drain(self, r: ReplicaProcess) -> None:
        r.state = "draining"
        r.kill_at = time.monotonic() + self._drain_timeout + KILL_GRACE_S
        r.send(Drain(self._drain_timeout))
        r.close_control()

    def _kill(self, replicas: list[ReplicaProcess]) -> None:
        for r in replicas:
            r.close_control()
            if not r.exited():
                r.kill()
        for r in replicas:
            r.reap(5.0)
            r.state = "exited"

    def _stop_services(self, services: list[_Service]) -> None:
        everyone: list[ReplicaProcess] = []
        for svc in services:
            svc.stopped = True
        for svc in services:
            with svc.op_lock, svc.state_lock:
                replicas = svc.processes()
                svc.slots = []
                svc.old = []
            for r in replicas:
                if r.state != "draining":
                    self._drain(r)
            everyone.extend(replicas)
        deadline = time.monotonic() + self._drain_timeout + KILL_GRACE_S
        for r in everyone:
            if not r.reap(max(0.0, deadline - time.monotonic())):
                log.warning("replica pid %d did not drain in time: killing it", r.pid)
                r.kill()
                r.reap(5.0)
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
        due: list[Slot] = []
        with svc.state_lock:
            if svc.stopped:
                return
            for slot in svc.slots:
                r = slot.replica
                if r is not None and r.exited():
                    log.warning(
                        "service %s: replica pid %d exited with %s; restarting",
                        svc.spec.service_id, r.pid, r.proc.returncode,
                    )  # fmt: skip
                    r.state = "exited"
                    r.close_control()
                    slot.vacate(now)
                else:
                    slot.settle(now)
                if slot.restart_due(now):
                    slot.restarting = True
                    due.append(slot)
            for r in list(svc.old):
                if r.exited():
                    svc.old.remove(r)
                    r.state = "exited"
                elif now > r.kill_at:
                    log.warning("replica pid %d did not drain in time: killing it", r.pid)
                    r.kill()
            generation = svc.generation
        for slot in due:
            threading.Thread(
                target=self._restart, args=(svc, slot, generation), name=f"restart-{slot.index}", daemon=True
            ).start()

    def _restart(self, svc: _Service, slot: Slot, generation: int) -> None:
        try:
            # op_lock is held from this check to the end, so no swap can replace the generation meanwhile
            with svc.op_lock:
                if svc.stopped or svc.generation != generation or slot.replica is not None:
                    return
                spec = svc.spec
                try:
                    r = self._spawn(svc, spec, slot.index)
                except OSError as exc:
                    with svc.state_lock:
                        slot.restart_failed(time.monotonic())
                    log.warning("service %s: restart of slot %d failed: %s", spec.service_id, slot.index, exc)
                    return
                failure = bring_up([r], self._ready_timeout)
                with svc.state_lock:
                    if failure is None:
                        slot.restarted(r)
                        return
                    slot.restart_failed(time.monotonic())
                log.warning(
                    "service %s: restart of slot %d failed: %s", spec.service_id, slot.index, failure.error
                )
                self._kill([r])
        finally:
            with svc.state_lock:
                slot.restarting = False

    # helpers -------------------------------------------------------------------------------------
    def _refusal(self, service_id: str) -> str:
        """Why start() cannot register the service now ('' if it can). Caller holds self._lock."""
        if self._closed.is_set():
            return "The supervisor is shut down"
        if service_id in self._services:  # a concurrent start() registered it first
            return f"Service {service_id} is already running"
        return ""

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


__all__ = ["ReplicaSupervisor"]
