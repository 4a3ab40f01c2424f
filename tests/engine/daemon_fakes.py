"""A fake Supervisor for daemon tests: no processes, but real ports and replica log files."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from mlops_engine.serving.api import DeployResult, ReplicaStatus, ServiceSpec, ServiceStatus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeSupervisor:
    """Fails init() when the bundle's score.py contains FAIL_INIT; records calls in $MLOPS_HOME/fake-supervisor.jsonl."""

    def __init__(self) -> None:
        self.running: dict[str, tuple[ServiceSpec, int]] = {}
        self.journal = Path(os.environ["MLOPS_HOME"]) / "fake-supervisor.jsonl"

    def _note(self, call: str, **data: object) -> None:
        with open(self.journal, "a") as out:
            out.write(json.dumps({"call": call, **data}) + "\n")

    def _init_fails(self, spec: ServiceSpec) -> bool:
        meta = json.loads((spec.bundle_dir / "image.json").read_text())
        return b"FAIL_INIT" in (spec.bundle_dir / "app" / meta["driver"]).read_bytes()

    def _log(self, spec: ServiceSpec, line: str) -> None:
        if spec.log_dir:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with open(spec.log_dir / "replica-1.log", "a") as out:
                out.write(f"{stamp} {line}\n")

    def start(self, spec: ServiceSpec) -> DeployResult:
        port = spec.port or _free_port()
        self._note("start", service=spec.service_id, image=spec.image_id, port=port, keys=spec.keys)
        if self._init_fails(spec):
            self._log(spec, "init() failed: RuntimeError: boom")
            return DeployResult(
                ok=False, port=port, error="init() failed", log_tail="Traceback\nRuntimeError: boom"
            )
        self._log(spec, f"ready image={spec.image_id}")
        self.running[spec.service_id] = (spec, port)
        return DeployResult(ok=True, port=port)

    def deploy(self, spec: ServiceSpec) -> DeployResult:
        self._note("deploy", service=spec.service_id, image=spec.image_id)
        port = self.running[spec.service_id][1]
        if self._init_fails(spec):
            self._log(spec, "new replica init() failed: RuntimeError: boom")
            return DeployResult(
                ok=False, port=port, error="init() failed", log_tail="Traceback\nRuntimeError: boom"
            )
        self._log(spec, f"swapped to image={spec.image_id}")
        self.running[spec.service_id] = (spec, port)
        return DeployResult(ok=True, port=port)

    def set_keys(self, service_id: str, keys: tuple[str, str]) -> None:
        self._note("set_keys", service=service_id, keys=list(keys))

    def stop(self, service_id: str) -> None:
        self._note("stop", service=service_id)
        self.running.pop(service_id, None)

    def status(self, service_id: str) -> ServiceStatus | None:
        if service_id not in self.running:
            return None
        spec, port = self.running[service_id]
        replicas = [
            ReplicaStatus(pid=1000 + i, state="serving", restarts=0, image_id=spec.image_id)
            for i in range(spec.replicas)
        ]
        return ServiceStatus(service_id=service_id, port=port, live_image_id=spec.image_id, replicas=replicas)

    def shutdown(self) -> None:
        self._note("shutdown")
        self.running.clear()


def factory() -> FakeSupervisor:
    return FakeSupervisor()
