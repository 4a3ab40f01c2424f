"""Environments (MLC operationalization clusters): ARM-like resources provisioned for real in the background."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from .. import __version__
from .accounts import ensure_resource_group
from .common import ApiError, Response, bad_request, now_iso
from .engine import RG_PATTERN, SUB_PATTERN, Engine, serving_python
from .server import Request, Route, route

log = logging.getLogger(__name__)

PROVIDER = "/providers/Microsoft.MachineLearningCompute/operationalizationClusters"
ENV_TYPE = "Microsoft.MachineLearningCompute/operationalizationClusters"
PROBE = (
    "import json, sys\n"
    "import httptools\n"
    "if sys.platform != 'win32':\n    import uvloop\n"
    "from importlib import metadata\n"
    "print(json.dumps({'python': sys.version.split()[0], 'executable': sys.executable,"
    " 'httptools': metadata.version('httptools')}))\n"
)


def _arm_time() -> str:
    """ARM (msrest) timestamps carry milliseconds, e.g. 2017-12-01T09:00:00.251Z (legacy 5.1)."""
    return now_iso()[:-4] + "Z"


def env_key(rg: str, name: str) -> str:
    return f"{rg.lower()}/{name.lower()}"


def key_from_arm_id(arm_id: str) -> str:
    """The env key of an MLC ARM id (any casing of 'resourceGroups')."""
    parts = arm_id.strip("/").split("/")
    if len(parts) < 8 or parts[2].lower() != "resourcegroups":
        raise bad_request(f"Invalid compute resource id {arm_id!r}.")
    return env_key(parts[3], parts[-1])


def env_dir(engine: Engine, key: str) -> Path:
    # Not in Paths yet (see report): environments/<rg>/<name>.
    return engine.paths.home / "environments" / key


def load(engine: Engine, key: str) -> dict[str, Any] | None:
    row = engine.db.one("SELECT doc FROM environments WHERE key = ?", (key,))
    return json.loads(row[0]) if row else None


def _set(engine: Engine, key: str, **props: Any) -> None:
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM environments WHERE key = ?", (key,)).fetchone()
        if row is None:
            return
        doc = json.loads(row[0])
        doc["properties"].update(props, modifiedOn=_arm_time())
        conn.execute("UPDATE environments SET doc = ? WHERE key = ?", (json.dumps(doc), key))


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
    now = _arm_time()
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


def _credentials(doc: dict[str, Any]) -> dict[str, Any]:
    registry = doc["properties"]["containerRegistry"]["resourceId"].rsplit("/", 1)[-1]
    creds: dict[str, Any] = {
        "storageAccount": {
            "resourceId": doc["properties"]["storageAccount"]["resourceId"],
            "primaryKey": secrets.token_urlsafe(48),
            "secondaryKey": secrets.token_urlsafe(48),
        },
        "containerRegistry": {
            "loginServer": f"{registry}.local",
            "username": registry,
            "password": secrets.token_urlsafe(24),
            "password2": secrets.token_urlsafe(24),
        },
        "containerService": None,
        "appInsights": {"appId": str(uuid.uuid4()), "instrumentationKey": str(uuid.uuid4())},
        "serviceAuthConfiguration": None,
        "sslConfiguration": None,
    }
    if doc["properties"]["clusterType"] == "ACS":
        token = secrets.token_hex(16)
        kubeconfig = (
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: 'http://127.0.0.1'}\n"
            f"  name: {doc['name']}\ncontexts:\n- context: {{cluster: {doc['name']}, user: {doc['name']}-admin}}\n"
            f"  name: {doc['name']}\ncurrent-context: {doc['name']}\nusers:\n- name: {doc['name']}-admin\n"
            f"  user: {{token: {token}}}\n"
        )
        creds["containerService"] = {
            "acsKubeConfig": kubeconfig,
            "imagePullSecretName": f"acr-{doc['name']}",
            "servicePrincipalConfiguration": None,
        }
    return creds


def _failed(engine: Engine, key: str, code: str, message: str) -> None:
    log.warning("environment %s failed: %s: %s", key, code, message)
    _set(
        engine,
        key,
        provisioningState="Failed",
        provisioningErrors=[
            {
                "error": {
                    "code": "ClusterCreationFailed",
                    "message": "Cluster creation failed",
                    "details": [{"code": code, "message": message}],
                }
            }
        ],
    )


def _agents_over_quota(engine: Engine, key: str) -> int | None:
    """Agents in use in this env's location if adding it exceeds MLOPS_AGENT_QUOTA, else None.

    Mirrors Azure's regional core quota (the most common cluster provisioning failure, legacy
    reference 11): each ACS environment's agents count against a per-location budget of this machine.
    """
    import os

    doc = load(engine, key)
    service = (doc or {}).get("properties", {}).get("containerService")
    if not doc or not service:
        return None
    quota = int(os.environ.get("MLOPS_AGENT_QUOTA", "64"))
    used = 0
    for (other_json,) in engine.db.all("SELECT doc FROM environments WHERE key != ?", (key,)):
        other = json.loads(other_json)
        props = other.get("properties", {})
        if other.get("location") == doc.get("location") and props.get("provisioningState") == "Succeeded":
            used += int((props.get("containerService") or {}).get("agentCount") or 0)
    return used if used + int(service.get("agentCount") or 0) > quota else None


def provision(engine: Engine, key: str) -> None:
    """Make the env's directories, probe the serving interpreter, store credentials: Succeeded or Failed."""
    python = serving_python()
    if _agents_over_quota(engine, key) is not None:
        return _failed(engine, key, "QuotaExceeded", "Resource quota limit exceeded.")
    try:
        env_dir(engine, key).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _failed(
            engine, key, "EnvironmentDirectoryError", f"Cannot create {env_dir(engine, key)}: {exc}"
        )
    try:
        proc = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False)
    except (FileNotFoundError, PermissionError) as exc:
        return _failed(
            engine,
            key,
            "ServingInterpreterNotFound",
            f"The serving interpreter {python} cannot be run ({exc}). Set MLOPS_SERVING_PYTHON to a "
            "Python 3.11+ interpreter that has the engine's serving dependencies installed.",
        )
    except subprocess.TimeoutExpired:
        return _failed(
            engine,
            key,
            "ServingInterpreterTimeout",
            f"The serving interpreter {python} did not answer within 60 s.",
        )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return _failed(
            engine,
            key,
            "ServingRuntimeMissing",
            f"The serving interpreter {python} cannot import the replica runtime: {last}. "
            f"Install it there with: {python} -m pip install httptools uvloop",
        )
    serving = json.loads(proc.stdout)
    doc = load(engine, key)
    if doc is None:
        return None
    with engine.db.tx() as conn:
        conn.execute(
            "UPDATE environments SET secrets = ?, serving = ? WHERE key = ?",
            (json.dumps(_credentials(doc)), json.dumps(serving), key),
        )
    _set(engine, key, provisioningState="Succeeded")
    log.info(
        "environment %s provisioned (serving Python %s at %s)", key, serving["python"], serving["executable"]
    )
    return None


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
    _set(engine, key, provisioningState="Deleting")
    engine.workers.submit(remove, engine, key)
    return Response(202, {})


def remove(engine: Engine, key: str) -> None:
    """Stop and delete the env's services, then the env and its directories."""
    from . import services  # services imports this module

    services.remove_for_env(engine, key)
    with engine.db.tx() as conn:
        conn.execute("DELETE FROM environments WHERE key = ?", (key,))
    shutil.rmtree(env_dir(engine, key), ignore_errors=True)
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
