"""MMS services: request validation and routes; the work itself is in deployments.py (run as operations)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from . import deployments, images, limits, operations, servicelogs
from . import servicerecords as rec
from .common import ApiError, Response, bad_request, not_found, now_iso, require_str
from .engine import MMS_BASE, Account, Engine
from .envstore import key_from_arm_id, load
from .server import Request, Route, route


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


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The updatable settings present in `body`, within the MMS limits (limits.py)."""
    return limits.service_settings(body)


def _create(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    body = req.json()
    name = require_str(body, "name")
    limits.service_name(name)
    image = _ready_image(engine, account, body.get("imageId"))
    compute = body.get("computeResource")
    if not isinstance(compute, dict) or not isinstance(compute.get("id"), str):
        raise bad_request(
            'Missing or invalid field \'computeResource\': {"id", "type": "Cluster"|"Local"} is required.'
        )
    ctype = str(compute.get("type") or "Cluster")
    if ctype not in ("Cluster", "Local"):
        raise bad_request(f"Invalid computeResource.type {ctype!r}; possible values: Cluster, Local.")
    env_key = key_from_arm_id(compute["id"])
    env = load(engine, env_key)
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
        "models": deployments.models_of(engine, image),
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
        engine,
        op_id,
        lambda: deployments.start_new(engine, service_id),
        lambda err: deployments.settle(engine, service_id, err),
    )
    return Response(202, {}, headers=[operations.location(engine, account, op_id)])


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
        engine,
        op_id,
        lambda: deployments.apply_update(engine, row.id, image),
        lambda err: deployments.settle(engine, row.id, err),
    )
    return Response(202, {}, headers=[operations.location(engine, account, op_id)])


def _delete(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    row = rec.load(engine, req.params["id"], account.key)
    if row is None:
        return Response(204)
    deployments.delete_service(engine, row)
    return Response(200, {})


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
