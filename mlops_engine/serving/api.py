"""The serving package's contract with the daemon: what should run, what happened, and the Supervisor seam.

Why this shape: the daemon stores desired state and asks a supervisor to make processes match it; it
codes against the `Supervisor` Protocol below, never against the concrete `ReplicaSupervisor`, so tests
can hand it a fake (tests/engine/daemon_fakes.py) and the daemon never imports process code it does not
need. Records are frozen: a status is a snapshot, not a view into the supervisor's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

REPLICA_MODULE: Final = "mlops_engine.serving.replica"
"""The `-m` argument of every replica: the daemon's orphan reaping (daemon/work/orphans.py) recognises replicas by it."""


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
    """One replica process as the supervisor sees it now."""

    pid: int
    state: str  # "starting" | "ready" | "serving" | "draining" | "exited"
    restarts: int
    image_id: str


@dataclass(frozen=True)
class ServiceStatus:
    """A running service: its port, the image it serves, and its replicas (draining ones included)."""

    service_id: str
    port: int
    live_image_id: str | None
    replicas: list[ReplicaStatus] = field(default_factory=list)


@runtime_checkable
class Supervisor(Protocol):
    """Runs the replicas of every service of one daemon (docs/engine-api.md section 4)."""

    def start(self, spec: ServiceSpec) -> DeployResult:
        """Run a service that does not run: bind spec.port (0 = ephemeral), wait until every replica is ready
        and probed. Not ok (nothing changed) if it already runs: that is deploy()'s case."""
        ...

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        """Safe swap of a running service to spec.image_id / spec.replicas on its port; on failure the old
        replicas keep serving. Not ok (nothing started) if it does not run: that is start()'s case."""
        ...

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        """Push regenerated (primary, secondary) keys to the running replicas."""
        ...

    def stop(self, service_id: str) -> None:
        """Drain and stop every replica of the service and close its listening socket."""
        ...

    def status(self, service_id: str) -> ServiceStatus | None:
        """A snapshot of the service, or None when it does not run."""
        ...

    def shutdown(self) -> None:
        """Stop every service (daemon exit); desired state is the daemon's, not touched here."""
        ...


__all__ = ["DeployResult", "ReplicaStatus", "ServiceSpec", "ServiceStatus", "Supervisor"]
