"""Service deployments run by workers: create, safe update, settle after failure, delete, restore after restart.

Desired state is written before the supervisor acts, so a crash at any point restores the last good image.
Work on one service holds its lock (`Engine.service_locks`), so operations on it never interleave.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from ..engine import AccountScope, Engine
from ..errors import ApiError, ErrorDetail, ErrorInfo, bad_request, conflict, not_found
from ..ids import now_iso
from ..store import environments, registry
from ..store import services as store
from ..store.records import Desired, Image, Operation, Service, ServiceMode, ServiceSettings, WorkState
from . import operations
from .settings import SettingsPatch
from .supervision import DeployResult, ServiceSpec

log = logging.getLogger(__name__)

CRASH_MESSAGE: Final = (
    "Your container application crashed. This may be caused by errors in your scoring file's init() function."
)


@dataclass(frozen=True)
class ServiceCreate:
    """A parsed POST /services."""

    name: str
    image_id: str
    compute_id: str
    env_key: str
    mode: ServiceMode
    settings: SettingsPatch


def crash_error(error: str, log_tail: str) -> ErrorInfo:
    """The operation error of a replica that failed to start (with the last 30 lines of its log)."""
    text = "\n".join(part for part in (log_tail.rstrip(), error.strip()) if part)
    tail = "\n".join(text.splitlines()[-30:])
    details = (ErrorDetail("CrashLoopBackOff", CRASH_MESSAGE), ErrorDetail("ReplicaLog", tail))
    return ErrorInfo(400, "BadRequest", "Kubernetes Deployment failed", details)


def ready_image(engine: Engine, scope: AccountScope, image_id: str) -> Image:
    """The image to deploy: it exists in the account and its build succeeded (400 otherwise)."""
    image = registry.get_image(engine.db, image_id, scope.key)
    if image is None:
        raise bad_request(f"Image with id {image_id} not found.")
    if image.state != "Succeeded":
        raise bad_request(f"Image {image_id} cannot be deployed: its creationState is {image.state}.")
    return image


def _clash_message(engine: Engine, existing: Service, name: str) -> str:
    if existing.mode == "local" and existing.name == name:
        found = environments.get(engine.db, existing.env_key)
        rg, env = (found.rg, found.name) if found else existing.env_key.split("/", 1)
        return (
            f"A service with the name {name} already exists: a local service (running on this machine, "
            f"created in environment {env} of resource group {rg}); local services are shared by every "
            f"account and environment. Delete it ('az ml service delete realtime -i {existing.id}') "
            "or choose another name."
        )
    return f"A service with the name {name} already exists."


def create(engine: Engine, scope: AccountScope, request: ServiceCreate) -> Operation:
    """Validate, insert the service (NotStarted) and its operation, and start it; returns the operation."""
    image = ready_image(engine, scope, request.image_id)
    env = environments.get(engine.db, request.env_key)
    if env is None:
        raise bad_request(f"Environment {request.compute_id} not found.")
    if env.state != "Succeeded":
        raise bad_request(f"Environment {env.name} is not ready: provisioningState {env.state}.")
    cluster = request.mode == "cluster"
    service_id = (
        f"{request.name}.{env.name}-{secrets.token_hex(4)}.{env.location}" if cluster else request.name
    )
    now = now_iso()
    service = Service(
        id=service_id,
        account=scope.key,
        name=request.name,
        mode=request.mode,
        env_key=env.key,
        compute_id=request.compute_id,
        port=0,
        image_id=image.id,
        target_image_id=image.id,
        desired="running",
        primary_key=secrets.token_hex(16) if cluster else None,
        secondary_key=secrets.token_hex(16) if cluster else None,
        state="NotStarted",
        created_at=now,
        updated_at=now,
        settings=request.settings.apply(ServiceSettings()),
    )
    with engine.db.tx() as conn:
        existing = store.name_taken(engine.db, scope.key, request.name, request.mode, service_id)
        if existing is not None:
            raise conflict(_clash_message(engine, existing, request.name))
        store.insert(conn, service)
        op = operations.new(conn, scope, "Service", f"services/{service_id}")
    operations.run(
        engine, op.id, lambda: _start_new(engine, service_id), lambda e: settle(engine, service_id, e)
    )
    return op


def update(
    engine: Engine, scope: AccountScope, service: Service, image_id: str, patch: SettingsPatch
) -> Operation:
    """Record the target image, then swap to it with the patched settings in an operation."""
    image = ready_image(engine, scope, image_id)
    with engine.db.tx() as conn:  # desired state first: a crash now restores the last good image
        current = store.get(engine.db, service.id)
        if current is None:
            raise not_found("Service")
        store.save(conn, replace(current, target_image_id=image.id))
        op = operations.new(conn, scope, "Service", f"services/{service.id}")
    operations.run(
        engine,
        op.id,
        lambda: _apply_update(engine, service.id, image, patch),
        lambda e: settle(engine, service.id, e),
    )
    return op


def spec(engine: Engine, service: Service, image_id: str, settings: ServiceSettings) -> ServiceSpec:
    """What the supervisor should run for `service` with `image_id`."""
    log_dir = engine.paths.services / service.id
    log_dir.mkdir(parents=True, exist_ok=True)
    return ServiceSpec(
        service_id=service.id,
        name=service.name,
        mode=service.mode,
        port=service.port,
        image_id=image_id,
        bundle_dir=engine.paths.images / image_id,
        replicas=settings.replica_count(),
        keys=service.keys,
        log_dir=log_dir,
    )


def _supervise(call: Callable[[ServiceSpec], DeployResult], run: ServiceSpec) -> DeployResult:
    try:
        return call(run)
    except Exception as exc:
        log.exception("supervisor failed for %s", run.service_id)
        return DeployResult(ok=False, port=run.port, error=f"supervisor error: {exc}")


def _still_wanted(service: Service, desired: Desired) -> Desired:
    """`desired`, unless the service was deleted meanwhile (a delete is never undone)."""
    return service.desired if service.desired == "deleted" else desired


def _start_new(engine: Engine, service_id: str) -> None:
    with engine.service_locks.hold(service_id):
        service = store.get(engine.db, service_id)
        if service is None or service.desired != "running":
            raise ApiError(409, "Conflict", f"Service {service_id} was deleted during its creation.")
        store.modify(engine.db, service_id, lambda s: replace(s, state="Running"))
        result = _supervise(
            engine.supervisor.start, spec(engine, service, service.image_id, service.settings)
        )
        now = now_iso()
        if result.ok:
            store.modify(
                engine.db,
                service_id,
                lambda s: replace(s, state="Succeeded", error=None, port=result.port, updated_at=now),
            )
            return
        error = crash_error(result.error, result.log_tail)
        try:
            engine.supervisor.stop(service_id)
        except Exception:
            log.exception("stopping service %s failed", service_id)
        store.modify(
            engine.db,
            service_id,
            lambda s: replace(
                s,
                state="Failed",
                error=error,
                desired=_still_wanted(s, "failed"),
                port=result.port or s.port,
                updated_at=now,
            ),
        )
        raise ApiError.of(error)


def settle(engine: Engine, service_id: str, error: ErrorInfo) -> None:
    """After any failed operation: no update target survives, and an unfinished create is Failed."""

    def _settled(s: Service) -> Service:
        s = replace(s, target_image_id=s.image_id)
        if s.state in ("NotStarted", "Running"):
            s = replace(s, state="Failed", error=error, desired=_still_wanted(s, "failed"))
        return s

    store.modify(engine.db, service_id, _settled)


def _apply_update(engine: Engine, service_id: str, image: Image, patch: SettingsPatch) -> None:
    with engine.service_locks.hold(service_id):
        service = store.get(engine.db, service_id)
        if service is None or service.desired == "deleted":
            raise not_found("Service")
        settings = patch.apply(service.settings)
        run = spec(engine, service, image.id, settings)
        running = service.desired == "running" and service.port and _status_known(engine, service_id)
        result = _supervise(engine.supervisor.deploy if running else engine.supervisor.start, run)
        if not result.ok:
            store.modify(engine.db, service_id, lambda s: replace(s, target_image_id=s.image_id))
            raise ApiError.of(crash_error(result.error, result.log_tail))
        store.modify(
            engine.db,
            service_id,
            lambda s: replace(
                s,
                image_id=image.id,
                target_image_id=image.id,
                desired=_still_wanted(s, "running"),
                port=result.port,
                state="Succeeded",
                error=None,
                updated_at=now_iso(),
                settings=settings,
            ),
        )


def _status_known(engine: Engine, service_id: str) -> bool:
    try:
        return engine.supervisor.status(service_id) is not None
    except Exception:  # noqa: BLE001 - unknown status means "not running"
        return False


def regenerate_key(engine: Engine, service: Service, primary: bool) -> Service:
    """A new primary or secondary key, stored, then pushed to the running replicas."""
    key = secrets.token_hex(16)
    with engine.service_locks.hold(service.id):
        fresh = store.modify(
            engine.db,
            service.id,
            lambda s: replace(s, primary_key=key) if primary else replace(s, secondary_key=key),
        )
        if fresh is None:
            raise not_found("Service")
        if fresh.keys is not None:
            try:
                engine.supervisor.set_keys(service.id, fresh.keys)
            except Exception:
                log.exception("could not push new keys to the replicas of %s", service.id)
    return fresh


def delete(engine: Engine, service: Service) -> None:
    """Stop the replicas, release the port, forget the service (desired state 'deleted' is written first)."""
    store.modify(engine.db, service.id, lambda s: replace(s, desired="deleted"))
    with engine.service_locks.hold(service.id):
        try:
            engine.supervisor.stop(service.id)
        except Exception:
            log.exception("stopping service %s failed", service.id)
        with engine.db.tx() as conn:
            store.delete(conn, service.id)
    shutil.rmtree(engine.paths.services / service.id, ignore_errors=True)


def remove_for_env(engine: Engine, env_key: str) -> None:
    """Services of a deleted environment are stopped and removed."""
    for service in store.in_environment(engine.db, env_key):
        delete(engine, service)


def _restored(result: DeployResult) -> Callable[[Service], Service]:
    error = None if result.ok else crash_error(result.error, result.log_tail)
    state: WorkState = "Succeeded" if result.ok else "Failed"
    return lambda s: replace(
        s, state=state, error=error, target_image_id=s.image_id, port=result.port or s.port
    )


def restore(engine: Engine) -> None:
    """After a daemon (re)start, run every service whose desired state is running, at its last good image."""
    for service in store.to_restore(engine.db):
        if engine.stopping.is_set():
            return
        with engine.service_locks.hold(service.id):
            result = _supervise(
                engine.supervisor.start, spec(engine, service, service.image_id, service.settings)
            )
            if not result.ok:
                log.error("could not restore service %s: %s", service.id, result.error)
            store.modify(engine.db, service.id, _restored(result))
        log.info("service %s restored: %s", service.id, "ok" if result.ok else "failed")


def recover(engine: Engine) -> None:
    """At start-up no update is in flight: every service's target is its last good image again."""
    reset = store.reset_targets(engine.db)
    if reset:
        log.info("%d interrupted service update(s) abandoned", reset)
