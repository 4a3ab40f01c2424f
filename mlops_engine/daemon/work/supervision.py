"""The daemon's one door to the serving side: the Supervisor seam and the records that cross it.

Everything the daemon knows of replicas comes through this module (the spec of what should run, the
result of a start or deploy, the status of a service); nothing else in mlops_engine/daemon imports the
serving package. The contract itself is `mlops_engine.serving.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from ...serving.api import REPLICA_MODULE, DeployResult, ReplicaStatus, ServiceSpec, ServiceStatus, Supervisor
from ...serving.isolation import prepare_home

__all__ = [
    "REPLICA_MODULE",
    "DeployResult",
    "ReplicaStatus",
    "ServiceSpec",
    "ServiceStatus",
    "Supervisor",
    "SupervisorFactory",
    "prepare_home",
    "process_supervisor",
]

SupervisorFactory: TypeAlias = Callable[[], Supervisor]


def process_supervisor(python: str) -> SupervisorFactory:
    """The factory of the real supervisor, running replicas with the serving interpreter `python`."""

    def factory() -> Supervisor:
        from ...serving.supervisor import ReplicaSupervisor  # only the daemon process needs it

        return ReplicaSupervisor(python=python)

    return factory
