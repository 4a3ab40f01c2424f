"""The daemon's one door to the serving side: the Supervisor seam and the records that cross it.

Everything the daemon knows of replicas comes through this module (the spec of what should run, the
result of a start or deploy, the status of a service); nothing else in mlops_engine/daemon imports the
supervisor's module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from ...supervisor import DeployResult, ReplicaStatus, ServiceSpec, ServiceStatus
from ...supervisor import Supervisor as ProcessSupervisor

__all__ = [
    "DeployResult",
    "ReplicaStatus",
    "ServiceSpec",
    "ServiceStatus",
    "Supervisor",
    "SupervisorFactory",
    "process_supervisor",
]


@runtime_checkable
class Supervisor(Protocol):
    """Runs the scoring replicas of services (docs/engine-api.md §4)."""

    def start(self, spec: ServiceSpec) -> DeployResult:
        """Start the service's replicas (binding its port if needed); ok once they serve."""
        ...

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        """Swap a running service to spec.image_id without losing a request; the old replicas keep serving on failure."""
        ...

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        """Send new (primary, secondary) keys to every replica of the service."""
        ...

    def stop(self, service_id: str) -> None:
        """Drain and stop the service's replicas and release its port."""
        ...

    def status(self, service_id: str) -> ServiceStatus | None:
        """The live replicas of a service, or None if it is not running."""
        ...

    def shutdown(self) -> None:
        """Stop every service (the daemon is exiting)."""
        ...


SupervisorFactory: TypeAlias = Callable[[], Supervisor]


def process_supervisor(python: str) -> SupervisorFactory:
    """The factory of the real supervisor, running replicas with the serving interpreter `python`."""

    def factory() -> Supervisor:
        return ProcessSupervisor(python=python)

    return factory
