"""Environments, provisioned for real in a worker: directories, serving-interpreter probe, credentials.

Creating -> Succeeded, or Failed with the reason; Deleting removes the env's services, its directories,
then its record. Both resume after a daemon restart.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from ... import __version__
from ..engine import Engine
from ..errors import conflict
from ..ids import arm_time
from ..store import accounts
from ..store import environments as store
from ..store.records import AcsProfile, ClusterType, Credentials, Environment, ServingProbe, scope_key
from . import deployments

log = logging.getLogger(__name__)

PROBE: Final = (
    "import json, sys\n"
    "import httptools\n"
    "if sys.platform != 'win32':\n    import uvloop\n"
    "from importlib import metadata\n"
    "print(json.dumps({'python': sys.version.split()[0], 'executable': sys.executable,"
    " 'httptools': metadata.version('httptools')}))\n"
)


@dataclass(frozen=True)
class AcsRequest:
    master_count: int
    agent_count: int
    agent_vm_size: str


@dataclass(frozen=True)
class EnvironmentCreate:
    """A parsed PUT of an operationalization cluster."""

    location: str
    cluster_type: ClusterType
    description: str | None
    tags: dict[str, str]
    acs: AcsRequest | None


def env_dir(engine: Engine, key: str) -> Path:
    """environments/<rg>/<name> (lowercased, like the key)."""
    return engine.paths.environments / key


def create(engine: Engine, rg: str, name: str, request: EnvironmentCreate) -> tuple[Environment, bool]:
    """The environment `rg/name`: created (Creating, provisioning started) or the existing one unchanged."""
    key = scope_key(rg, name)
    existing = store.get(engine.db, key)
    if existing is not None:
        return existing, False
    now = arm_time()
    acs = request.acs
    env = Environment(
        key=key,
        rg=rg,
        name=name,
        location=request.location,
        tags=request.tags,
        description=request.description,
        created_on=now,
        modified_on=now,
        state="Creating",
        cluster_type=request.cluster_type,
        suffix=secrets.token_hex(6),
        acs=AcsProfile(str(uuid.uuid4()), acs.master_count, acs.agent_count, acs.agent_vm_size, __version__)
        if acs
        else None,
    )
    with engine.db.tx() as conn:
        accounts.ensure_resource_group(conn, rg, request.location)
        if not store.insert(conn, env):
            raise conflict(f"Environment {name} is being created concurrently.")
    engine.workers.submit(provision, engine, key)
    return env, True


def start_delete(engine: Engine, key: str) -> bool:
    """Mark the environment Deleting and remove it in a worker; False if it does not exist."""
    if store.update(engine.db, key, lambda e: replace(e, state="Deleting")) is None:
        return False
    engine.workers.submit(remove, engine, key)
    return True


def remove(engine: Engine, key: str) -> None:
    """Stop and delete the env's services, then its directories, then its record."""
    deployments.remove_for_env(engine, key)
    # directories first: once GET answers 404 nothing of the env is left on disk
    shutil.rmtree(env_dir(engine, key), ignore_errors=True)
    with engine.db.tx() as conn:
        store.delete(conn, key)
    log.info("environment %s deleted", key)


def recover(engine: Engine) -> None:
    """Resume provisioning or deletion interrupted by a daemon restart."""
    for env in store.list_all(engine.db):
        if env.state == "Creating":
            engine.workers.submit(provision, engine, env.key)
        elif env.state == "Deleting":
            engine.workers.submit(remove, engine, env.key)


def _credentials(env: Environment) -> Credentials:
    return Credentials(
        env_key=env.key,
        storage_primary=secrets.token_urlsafe(48),
        storage_secondary=secrets.token_urlsafe(48),
        registry_password=secrets.token_urlsafe(24),
        registry_password2=secrets.token_urlsafe(24),
        app_insights_id=str(uuid.uuid4()),
        app_insights_key=str(uuid.uuid4()),
        kube_token=secrets.token_hex(16) if env.cluster_type == "ACS" else None,
    )


def _fail(engine: Engine, key: str, code: str, message: str) -> None:
    log.warning("environment %s failed: %s: %s", key, code, message)
    store.update(
        engine.db, key, lambda e: replace(e, state="Failed", failure_code=code, failure_message=message)
    )


def _over_quota(engine: Engine, env: Environment) -> bool:
    """Adding this env's agents exceeds MLOPS_AGENT_QUOTA in its location.

    Mirrors Azure's regional core quota (the most common cluster provisioning failure, legacy
    reference 11): each ACS environment's agents count against a per-location budget of this machine.
    """
    if env.acs is None:
        return False
    quota = int(os.environ.get("MLOPS_AGENT_QUOTA", "64"))
    used = sum(
        other.acs.agent_count
        for other in store.list_all(engine.db)
        if other.key != env.key
        and other.acs
        and other.location == env.location
        and other.state == "Succeeded"
    )
    return used + env.acs.agent_count > quota


def provision(engine: Engine, key: str) -> None:
    """Make the env's directories, probe the serving interpreter, store credentials: Succeeded or Failed."""
    python = engine.python
    env = store.get(engine.db, key)
    if env is None:
        return
    if _over_quota(engine, env):
        return _fail(engine, key, "QuotaExceeded", "Resource quota limit exceeded.")
    try:
        env_dir(engine, key).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(engine, key, "EnvironmentDirectoryError", f"Cannot create {env_dir(engine, key)}: {exc}")
    try:
        proc = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False)
    except (FileNotFoundError, PermissionError) as exc:
        return _fail(
            engine,
            key,
            "ServingInterpreterNotFound",
            f"The serving interpreter {python} cannot be run ({exc}). Set MLOPS_SERVING_PYTHON to a "
            "Python 3.11+ interpreter that has the engine's serving dependencies installed.",
        )
    except subprocess.TimeoutExpired:
        return _fail(
            engine,
            key,
            "ServingInterpreterTimeout",
            f"The serving interpreter {python} did not answer within 60 s.",
        )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return _fail(
            engine,
            key,
            "ServingRuntimeMissing",
            f"The serving interpreter {python} cannot import the replica runtime: {last}. "
            f"Install it there with: {python} -m pip install httptools uvloop",
        )
    report = json.loads(proc.stdout)
    probe = ServingProbe(str(report["python"]), str(report["executable"]), str(report["httptools"]))
    with engine.db.tx() as conn:
        if store.get(engine.db, key) is None:  # deleted meanwhile
            return None
        store.save_credentials(conn, _credentials(env))
    store.update(engine.db, key, lambda e: replace(e, state="Succeeded", serving=probe))
    log.info("environment %s provisioned (serving Python %s at %s)", key, probe.python, probe.executable)
