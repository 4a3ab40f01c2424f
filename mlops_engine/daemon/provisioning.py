"""Environment provisioning, done for real in a worker: directories, serving-interpreter probe, credentials."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import uuid
from typing import Any

from .engine import Engine, serving_python
from .envstore import env_dir, load, set_props

log = logging.getLogger(__name__)

PROBE = (
    "import json, sys\n"
    "import httptools\n"
    "if sys.platform != 'win32':\n    import uvloop\n"
    "from importlib import metadata\n"
    "print(json.dumps({'python': sys.version.split()[0], 'executable': sys.executable,"
    " 'httptools': metadata.version('httptools')}))\n"
)


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
    set_props(
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
    set_props(engine, key, provisioningState="Succeeded")
    log.info(
        "environment %s provisioned (serving Python %s at %s)", key, serving["python"], serving["executable"]
    )
    return None
