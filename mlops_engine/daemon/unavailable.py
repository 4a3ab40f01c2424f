"""A stand-in supervisor used when the real one cannot be constructed: every service op fails clearly."""

from __future__ import annotations

from ..serving.api import DeployResult, ServiceSpec, ServiceStatus


class UnavailableSupervisor:
    """Answers every request with a failure that names the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def start(self, spec: ServiceSpec) -> DeployResult:
        return DeployResult(ok=False, port=spec.port, error=self.reason)

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        return DeployResult(ok=False, port=spec.port, error=self.reason)

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        return None

    def stop(self, service_id: str) -> None:
        return None

    def status(self, service_id: str) -> ServiceStatus | None:
        return None

    def shutdown(self) -> None:
        return None
