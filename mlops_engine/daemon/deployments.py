"""Service deployments run by workers: start, safe update, settle after failure, delete, restore after restart.

Desired state is written before the supervisor acts, so a crash at any point restores the last good image.
"""

from __future__ import annotations

import json
import logging
import shutil
from typing import Any

from ..serving.api import DeployResult, ServiceSpec
from . import operations
from . import servicerecords as rec
from .common import now_iso
from .engine import Engine

log = logging.getLogger(__name__)


def models_of(engine: Engine, image: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for mid in image["manifest"]["modelIds"]:
        row = engine.db.one("SELECT doc FROM models WHERE id = ?", (mid,))
        if row:
            out.append(json.loads(row[0]))
    return out


def _safe(call: Any, spec: ServiceSpec) -> DeployResult:
    try:
        result: DeployResult = call(spec)
        return result
    except Exception as exc:
        log.exception("supervisor failed for %s", spec.service_id)
        return DeployResult(ok=False, port=spec.port, error=f"supervisor error: {exc}")


def start_new(engine: Engine, service_id: str) -> None:
    with rec.lock_for(service_id):
        row = rec.load(engine, service_id)
        if row is None or row.desired != "running":
            raise operations.OperationFailed(
                {
                    "code": "Conflict",
                    "statusCode": 409,
                    "message": f"Service {service_id} was deleted during its creation.",
                    "details": [],
                }
            )
        with engine.db.tx() as conn:
            rec.update(conn, service_id, dict(row.doc, state="Running"))
        result = _safe(
            engine.supervisor.start, rec.spec(engine, row, row.image_id, rec.replica_count(row.doc))
        )
        doc = dict(row.doc, updatedAt=now_iso())
        if result.ok:
            with engine.db.tx() as conn:
                rec.update(conn, service_id, dict(doc, state="Succeeded", error=None), port=result.port)
            return
        error = rec.crash_error(result.error, result.log_tail)
        _safe(lambda s: engine.supervisor.stop(s.service_id), rec.spec(engine, row, row.image_id, 1))
        with engine.db.tx() as conn:
            rec.update(
                conn,
                service_id,
                dict(doc, state="Failed", error=error),
                desired="failed",
                port=result.port or row.port,
            )
        raise operations.OperationFailed(error)


def settle(engine: Engine, service_id: str, error: dict[str, Any]) -> None:
    """After any failed operation: no pending update survives, and an unfinished create is Failed."""
    with engine.db.tx() as conn:
        values = conn.execute(f"SELECT {rec.COLUMNS} FROM services WHERE id = ?", (service_id,)).fetchone()
        if values is None:
            return
        row = rec.ServiceRow.from_db(values)
        doc = {k: v for k, v in row.doc.items() if k != "_pending"}
        if doc.get("state") in ("NotStarted", "Running"):
            doc.update(state="Failed", error=error)
            rec.update(conn, service_id, doc, target_image_id=row.image_id, desired="failed")
        else:
            rec.update(conn, service_id, doc, target_image_id=row.image_id)


def apply_update(engine: Engine, service_id: str, image: dict[str, Any]) -> None:
    with rec.lock_for(service_id):
        row = rec.load(engine, service_id)
        if row is None or row.desired == "deleted":
            raise operations.OperationFailed(
                {"code": "NotFound", "statusCode": 404, "message": "Service not found", "details": []}
            )
        settings = row.doc.get("_pending") or {}
        merged = {k: v for k, v in row.doc.items() if k != "_pending"}
        merged.update(settings)
        spec = rec.spec(engine, row, image["id"], rec.replica_count(merged))
        running = row.desired == "running" and row.port and _status(engine, service_id) is not None
        result = _safe(engine.supervisor.deploy if running else engine.supervisor.start, spec)
        with engine.db.tx() as conn:
            if result.ok:
                merged.update(
                    image=image,
                    models=models_of(engine, image),
                    state="Succeeded",
                    error=None,
                    updatedAt=now_iso(),
                )
                rec.update(
                    conn,
                    service_id,
                    merged,
                    image_id=image["id"],
                    target_image_id=image["id"],
                    desired="running",
                    port=result.port,
                )
                return
            previous = {k: v for k, v in row.doc.items() if k != "_pending"}
            rec.update(conn, service_id, previous, target_image_id=row.image_id)
        raise operations.OperationFailed(rec.crash_error(result.error, result.log_tail))


def _status(engine: Engine, service_id: str) -> Any:
    try:
        return engine.supervisor.status(service_id)
    except Exception:  # noqa: BLE001 - unknown status means "not running"
        return None


def delete_service(engine: Engine, row: rec.ServiceRow) -> None:
    """Stop the replicas, release the port, forget the service (desired state 'deleted' is written first)."""
    with engine.db.tx() as conn:
        rec.update(conn, row.id, desired="deleted")
    with rec.lock_for(row.id):
        try:
            engine.supervisor.stop(row.id)
        except Exception:
            log.exception("stopping service %s failed", row.id)
        with engine.db.tx() as conn:
            conn.execute("DELETE FROM services WHERE id = ?", (row.id,))
    shutil.rmtree(engine.paths.services / row.id, ignore_errors=True)


def remove_for_env(engine: Engine, env_key: str) -> None:
    """Services of a deleted environment are stopped and removed."""
    for row in rec.load_all(engine, "env_id = ?", (env_key,)):
        delete_service(engine, row)


def restore(engine: Engine) -> None:
    """After a daemon (re)start, run every service whose desired state is running, at its last good image."""
    for row in rec.load_all(engine, "desired = 'running'"):
        if engine.stopping.is_set():
            return
        with rec.lock_for(row.id):
            doc = {k: v for k, v in row.doc.items() if k != "_pending"}
            if doc.get("state") in ("NotStarted", "Running"):
                doc["state"] = "Succeeded" if row.port else "Failed"
            result = _safe(
                engine.supervisor.start, rec.spec(engine, row, row.image_id, rec.replica_count(doc))
            )
            if not result.ok:
                log.error("could not restore service %s: %s", row.id, result.error)
                doc.update(state="Failed", error=rec.crash_error(result.error, result.log_tail))
            else:
                doc.update(state="Succeeded", error=None)
            with engine.db.tx() as conn:
                rec.update(conn, row.id, doc, target_image_id=row.image_id, port=result.port or row.port)
        log.info("service %s restored: %s", row.id, "ok" if result.ok else "failed")
