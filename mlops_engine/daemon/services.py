"""MMS services: create/update as operations through the Supervisor, delete, keys, restore after restart."""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
from typing import Any

from ..supervisor import DeployResult, ServiceSpec
from . import environments, images, operations, servicelogs
from . import servicerecords as rec
from .common import ApiError, Response, bad_request, not_found, now_iso, require_str
from .engine import MMS_BASE, Account, Engine
from .server import Request, Route, route

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]$")
UPDATABLE = (
    "numReplicas",
    "appInsightsEnabled",
    "dataCollection",
    "autoScaler",
    "containerResourceReservation",
    "maxConcurrentRequestsPerContainer",
)


def _ready_image(engine: Engine, account: Account, image_id: Any) -> dict[str, Any]:
    if not isinstance(image_id, str) or not image_id:
        raise bad_request("Missing or invalid field 'imageId'.")
    image = images.load(engine, account, image_id)
    if image is None:
        raise bad_request(f"Image with id {image_id} not found.")
    if image["creationState"] != "Succeeded":
        raise bad_request(
            f"Image {image_id} cannot be deployed: its creationState is {image['creationState']}."
        )
    return image


def _models(engine: Engine, image: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for mid in image["manifest"]["modelIds"]:
        row = engine.db.one("SELECT doc FROM models WHERE id = ?", (mid,))
        if row:
            out.append(json.loads(row[0]))
    return out


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The updatable settings present in `body`, validated (MMS limits, section 9.1 of the reference)."""
    out = {k: body[k] for k in UPDATABLE if k in body}
    n = out.get("numReplicas")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise bad_request("'numReplicas' must be an integer >= 1.")
    for key in ("dataCollection", "autoScaler", "containerResourceReservation"):
        if key in out and not isinstance(out[key], dict):
            raise bad_request(f"'{key}' must be a JSON object.")
    m = out.get("maxConcurrentRequestsPerContainer")
    if m is not None and (not isinstance(m, int) or m < 1):
        raise bad_request("'maxConcurrentRequestsPerContainer' must be an integer >= 1.")
    return out


def _safe(call: Any, spec: ServiceSpec) -> DeployResult:
    try:
        result: DeployResult = call(spec)
        return result
    except Exception as exc:
        log.exception("supervisor failed for %s", spec.service_id)
        return DeployResult(ok=False, port=spec.port, error=f"supervisor error: {exc}")


def _create(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    body = req.json()
    name = require_str(body, "name")
    if not NAME_RE.match(name):
        raise bad_request(
            f"Invalid service name {name!r}: 3-32 characters, lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit."
        )
    image = _ready_image(engine, account, body.get("imageId"))
    compute = body.get("computeResource")
    if not isinstance(compute, dict) or not isinstance(compute.get("id"), str):
        raise bad_request(
            'Missing or invalid field \'computeResource\': {"id", "type": "Cluster"|"Local"} is required.'
        )
    ctype = str(compute.get("type") or "Cluster")
    if ctype not in ("Cluster", "Local"):
        raise bad_request(f"Invalid computeResource.type {ctype!r}; possible values: Cluster, Local.")
    env_key = environments.key_from_arm_id(compute["id"])
    env = environments.load(engine, env_key)
    if env is None:
        raise bad_request(f"Environment {compute['id']} not found.")
    if env["properties"]["provisioningState"] != "Succeeded":
        raise bad_request(
            f"Environment {env['name']} is not ready: provisioningState {env['properties']['provisioningState']}."
        )
    mode = "cluster" if ctype == "Cluster" else "local"
    service_id = (
        f"{name}.{env['name']}-{secrets.token_hex(4)}.{env['location']}" if mode == "cluster" else name
    )
    settings = _settings(body)
    now = now_iso()
    doc = {
        "id": service_id,
        "name": name,
        "state": "NotStarted",
        "createdAt": now,
        "updatedAt": now,
        "image": image,
        "models": _models(engine, image),
        "computeResource": {"id": compute["id"], "type": ctype},
        "numReplicas": settings.get("numReplicas", 1),
        "appInsightsEnabled": bool(settings.get("appInsightsEnabled", False)),
        "dataCollection": settings.get("dataCollection")
        or {"storageEnabled": False, "eventHubEnabled": False},
        "autoScaler": settings.get("autoScaler") or {},
        "containerResourceReservation": settings.get("containerResourceReservation") or {},
        "maxConcurrentRequestsPerContainer": settings.get("maxConcurrentRequestsPerContainer"),
        "error": None,
    }
    keys = (secrets.token_hex(16), secrets.token_hex(16)) if mode == "cluster" else (None, None)
    with engine.db.tx() as conn:
        clash = conn.execute(
            "SELECT 1 FROM services WHERE (account = ? AND name = ?) OR id = ?",
            (account.key, name, service_id),
        ).fetchone()
        if clash:
            raise ApiError(409, "Conflict", f"A service with the name {name} already exists.")
        conn.execute(
            f"INSERT INTO services ({rec.COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 'running', ?, ?, ?)",
            (service_id, account.key, name, mode, env_key, image["id"], image["id"], *keys, json.dumps(doc)),
        )
        op_id = operations.create(engine, account, "Service", f"services/{service_id}", conn)
    operations.run(
        engine, op_id, lambda: _start_new(engine, service_id), lambda err: _settle(engine, service_id, err)
    )
    return Response(202, {}, headers=[operations.location(engine, account, op_id)])


def _start_new(engine: Engine, service_id: str) -> None:
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


def _settle(engine: Engine, service_id: str, error: dict[str, Any]) -> None:
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


def _require(engine: Engine, req: Request) -> tuple[Account, rec.ServiceRow]:
    account = engine.account(req.params)
    row = rec.load(engine, req.params["id"], account.key)
    if row is None:
        raise not_found("Service")
    return account, row


def _update(engine: Engine, req: Request) -> Response:
    account, row = _require(engine, req)
    body = req.json()
    image = _ready_image(engine, account, body.get("imageId", row.image_id))
    settings = _settings(body)
    with engine.db.tx() as conn:  # desired state first: a crash now restores the last good image
        rec.update(conn, row.id, dict(row.doc, _pending=settings), target_image_id=image["id"])
        op_id = operations.create(engine, account, "Service", f"services/{row.id}", conn)
    operations.run(
        engine, op_id, lambda: _apply_update(engine, row.id, image), lambda err: _settle(engine, row.id, err)
    )
    return Response(202, {}, headers=[operations.location(engine, account, op_id)])


def _apply_update(engine: Engine, service_id: str, image: dict[str, Any]) -> None:
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
                    models=_models(engine, image),
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


def _delete(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    row = rec.load(engine, req.params["id"], account.key)
    if row is None:
        return Response(204)
    delete_service(engine, row)
    return Response(200, {})


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


def _list(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    rows = rec.load_all(engine, "account = ?", (account.key,))
    q = req.query
    if "serviceName" in q:
        rows = [r for r in rows if r.name == q["serviceName"]]
    if "computeType" in q:
        rows = [r for r in rows if r.doc["computeResource"]["type"].lower() == q["computeType"].lower()]
    if "imageId" in q:
        rows = [r for r in rows if r.image_id == q["imageId"]]
    return Response(200, {"value": [rec.wire(engine, r) for r in rows]})


def routes(engine: Engine) -> list[Route]:
    s = MMS_BASE + "/services/(?P<id>[^/]+)"
    return [
        route("POST", MMS_BASE + "/services", lambda req: _create(engine, req)),
        route("GET", MMS_BASE + "/services", lambda req: _list(engine, req)),
        route("GET", s, lambda req: Response(200, rec.wire(engine, _require(engine, req)[1]))),
        route("PUT", s, lambda req: _update(engine, req)),
        route("DELETE", s, lambda req: _delete(engine, req)),
        route("GET", s + "/keys", lambda req: servicelogs.keys(engine, _require(engine, req)[1])),
        route(
            "POST",
            s + "/regenerateKeys",
            lambda req: servicelogs.regenerate(engine, _require(engine, req)[1], req),
        ),
        route("GET", s + "/logs", lambda req: servicelogs.logs(engine, _require(engine, req)[1], req)),
    ]
