"""Environments (MLC operationalization clusters): ARM-like resources provisioned for real in the background."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import uuid
from typing import Any

from .. import __version__
from . import deployments
from .accounts import ensure_resource_group
from .common import ApiError, Response, bad_request
from .engine import RG_PATTERN, SUB_PATTERN, Engine
from .envstore import ENV_TYPE, PROVIDER, arm_time, env_dir, env_key, load, set_props
from .provisioning import provision
from .server import Request, Route, route

log = logging.getLogger(__name__)


def _int_in(value: Any, default: int, allowed: Any, what: str) -> int:
    value = default if value is None else value
    if not isinstance(value, int) or value not in allowed:
        raise bad_request(f"Invalid {what}: {value!r}.")
    return value


def _new_doc(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    sub, rg, name = req.params["sub"], req.params["rg"], req.params["name"]
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise bad_request("Missing or invalid field 'location'.")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request("'properties' must be a JSON object.")
    cluster_type = props.get("clusterType", "Local")
    if cluster_type not in ("ACS", "Local"):
        raise bad_request(f"Invalid clusterType {cluster_type!r}; possible values: ACS, Local.")
    base = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
    suffix = secrets.token_hex(6)
    now = arm_time()
    doc: dict[str, Any] = {
        "id": f"/subscriptions/{sub}/resourceGroups/{rg}{PROVIDER}/{name}",
        "name": name,
        "location": location,
        "type": ENV_TYPE,
        "tags": body.get("tags") or {},
        "properties": {
            "description": props.get("description"),
            "createdOn": now,
            "modifiedOn": now,
            "provisioningState": "Creating",
            "clusterType": cluster_type,
            "storageAccount": {"resourceId": f"{base}/Microsoft.Storage/storageAccounts/mlcrpstg{suffix}"},
            "containerRegistry": {
                "resourceId": f"{base}/Microsoft.ContainerRegistry/registries/mlcrpacr{suffix}"
            },
            "appInsights": {"resourceId": f"{base}/microsoft.insights/components/mlcrpai{suffix}"},
            "globalServiceConfiguration": {"ssl": {"status": "Disabled"}},
        },
    }
    if cluster_type == "ACS":
        cs = props.get("containerService") or {}
        if not isinstance(cs, dict):
            raise bad_request("'containerService' must be a JSON object.")
        doc["properties"]["containerService"] = {
            "clusterFqdn": "127.0.0.1",
            "orchestratorType": "Kubernetes",
            "orchestratorProperties": {"servicePrincipal": {"clientId": str(uuid.uuid4())}},
            "systemServices": [
                {
                    "systemServiceType": "ScoringFrontEnd",
                    "publicIpAddress": "127.0.0.1",
                    "version": __version__,
                }
            ],
            "masterCount": _int_in(cs.get("masterCount"), 1, (1, 3, 5), "masterCount (must be 1, 3 or 5)"),
            "agentCount": _int_in(cs.get("agentCount"), 2, range(1, 101), "agentCount (must be 1-100)"),
            "agentVmSize": str(cs.get("agentVmSize") or "Standard_D3_v2"),
        }
    return doc


def _put(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json()
    key = env_key(req.params["rg"], req.params["name"])
    existing = load(engine, key)
    if existing is not None:
        return Response(200, existing)
    doc = _new_doc(req, body)
    ensure_resource_group(engine, req.params["rg"], doc["location"])
    with engine.db.tx() as conn:
        if conn.execute("SELECT 1 FROM environments WHERE key = ?", (key,)).fetchone():
            raise ApiError(
                409, "Conflict", f"Environment {req.params['name']} is being created concurrently."
            )
        conn.execute(
            "INSERT INTO environments (key, rg_key, name, doc) VALUES (?, ?, ?, ?)",
            (key, req.params["rg"].lower(), req.params["name"], json.dumps(doc)),
        )
    engine.workers.submit(provision, engine, key)
    return Response(201, doc)


def _require(engine: Engine, req: Request) -> tuple[str, dict[str, Any]]:
    engine.check_sub(req.params["sub"])
    key = env_key(req.params["rg"], req.params["name"])
    doc = load(engine, key)
    if doc is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{ENV_TYPE}/{req.params['name']}' under resource "
            f"group '{req.params['rg']}' was not found.",
        )
    return key, doc


def _delete(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    key = env_key(req.params["rg"], req.params["name"])
    if load(engine, key) is None:
        return Response(204)
    set_props(engine, key, provisioningState="Deleting")
    engine.workers.submit(remove, engine, key)
    return Response(202, {})


def remove(engine: Engine, key: str) -> None:
    """Stop and delete the env's services, then the env and its directories."""
    deployments.remove_for_env(engine, key)
    # directories first: once GET answers 404 nothing of the env is left on disk
    shutil.rmtree(env_dir(engine, key), ignore_errors=True)
    with engine.db.tx() as conn:
        conn.execute("DELETE FROM environments WHERE key = ?", (key,))
    log.info("environment %s deleted", key)


def _list_keys(engine: Engine, req: Request) -> Response:
    key, doc = _require(engine, req)
    row = engine.db.one("SELECT secrets FROM environments WHERE key = ?", (key,))
    if not row or not row[0]:
        raise ApiError(
            409,
            "Conflict",
            f"Environment {doc['name']} is {doc['properties']['provisioningState']}; "
            "keys exist once provisioning has succeeded.",
        )
    return Response(200, raw=row[0].encode())


def _list(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    rg = req.params.get("rg")
    sql, params = (
        ("SELECT doc FROM environments WHERE rg_key = ? ORDER BY seq", (rg.lower(),))
        if rg
        else ("SELECT doc FROM environments ORDER BY seq", ())
    )
    return Response(200, {"value": [json.loads(r[0]) for r in engine.db.all(sql, params)]})


def recover(engine: Engine) -> None:
    """Resume provisioning or deletion interrupted by a daemon restart."""
    for key, raw in engine.db.all("SELECT key, doc FROM environments"):
        state = json.loads(raw)["properties"]["provisioningState"]
        if state == "Creating":
            engine.workers.submit(provision, engine, key)
        elif state == "Deleting":
            engine.workers.submit(remove, engine, key)


def routes(engine: Engine) -> list[Route]:
    e = SUB_PATTERN + RG_PATTERN + PROVIDER + "/(?P<name>[^/]+)"
    lst = SUB_PATTERN + f"(?:{RG_PATTERN})?" + PROVIDER
    return [
        route("PUT", e, lambda req: _put(engine, req)),
        route("GET", e, lambda req: Response(200, _require(engine, req)[1])),
        route("DELETE", e, lambda req: _delete(engine, req)),
        route("POST", e + "/listKeys", lambda req: _list_keys(engine, req)),
        route("GET", lst, lambda req: _list(engine, req)),
    ]
