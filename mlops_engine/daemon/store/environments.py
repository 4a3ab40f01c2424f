"""Environments and their credentials in state.db."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from typing import Final, cast

from ..ids import arm_time
from .codec import decode_tags, encode_tags
from .database import Database, Row
from .records import AcsProfile, ClusterType, Credentials, Environment, ProvisioningState, ServingProbe

_COLUMNS: Final = (
    "key, rg, name, location, tags, description, created_on, modified_on, state, cluster_type, suffix, "
    "acs_client_id, master_count, agent_count, agent_vm_size, system_version, failure_code, failure_message, "
    "serving_python, serving_executable, serving_httptools"
)
_CREDENTIALS: Final = (
    "env_key, storage_primary, storage_secondary, registry_password, registry_password2, app_insights_id, "
    "app_insights_key, kube_token"
)
_S = str | None
_I = int | None
_EnvRow = tuple[str, str, str, str, str, _S, str, str, str, str, str, _S, _I, _I, _S, _S, _S, _S, _S, _S, _S]


def _environment(row: Row) -> Environment:
    (key, rg, name, location, tags, description, created, modified, state, ctype, suffix,
     client_id, masters, agents, vm_size, version, failure_code, failure_message,
     python, executable, httptools) = cast(_EnvRow, row)  # fmt: skip
    acs = None
    if client_id is not None and masters is not None and agents is not None and vm_size and version:
        acs = AcsProfile(client_id, masters, agents, vm_size, version)
    serving = ServingProbe(python, executable, httptools) if python and executable and httptools else None
    return Environment(
        key=key,
        rg=rg,
        name=name,
        location=location,
        tags=decode_tags(tags),
        description=description,
        created_on=created,
        modified_on=modified,
        state=cast(ProvisioningState, state),
        cluster_type=cast(ClusterType, ctype),
        suffix=suffix,
        acs=acs,
        failure_code=failure_code,
        failure_message=failure_message,
        serving=serving,
    )


def _values(e: Environment) -> tuple[object, ...]:
    acs, probe = e.acs, e.serving
    return (
        e.key, e.rg, e.name, e.location, encode_tags(e.tags), e.description, e.created_on, e.modified_on, e.state,
        e.cluster_type, e.suffix, acs and acs.client_id, acs and acs.master_count, acs and acs.agent_count,
        acs and acs.agent_vm_size, acs and acs.system_version, e.failure_code, e.failure_message,
        probe and probe.python, probe and probe.executable, probe and probe.httptools,
    )  # fmt: skip


def get(db: Database, key: str) -> Environment | None:
    row = db.one(f"SELECT {_COLUMNS} FROM environments WHERE key = ?", (key,))
    return _environment(row) if row else None


def list_all(db: Database, rg: str | None = None) -> list[Environment]:
    """Every environment in creation order, or those of resource group `rg` (any casing)."""
    envs = [_environment(r) for r in db.all(f"SELECT {_COLUMNS} FROM environments ORDER BY seq")]
    return envs if rg is None else [e for e in envs if e.rg.lower() == rg.lower()]


def insert(conn: sqlite3.Connection, env: Environment) -> bool:
    """Insert a new environment; False if one with the same key exists."""
    marks = ", ".join("?" * len(_COLUMNS.split(",")))
    cursor = conn.execute(f"INSERT OR IGNORE INTO environments ({_COLUMNS}) VALUES ({marks})", _values(env))
    return cursor.rowcount > 0


def update(db: Database, key: str, change: Callable[[Environment], Environment]) -> Environment | None:
    """Apply `change` in one transaction and bump modifiedOn; None if the environment is gone."""
    with db.tx() as conn:
        env = get(db, key)
        if env is None:
            return None
        env = dataclasses.replace(change(env), modified_on=arm_time())
        assignments = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
        conn.execute(f"UPDATE environments SET {assignments} WHERE key = ?", (*_values(env), key))
        return env


def delete(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM credentials WHERE env_key = ?", (key,))
    conn.execute("DELETE FROM environments WHERE key = ?", (key,))


def save_credentials(conn: sqlite3.Connection, creds: Credentials) -> None:
    c = creds
    conn.execute(
        f"INSERT OR REPLACE INTO credentials ({_CREDENTIALS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (c.env_key, c.storage_primary, c.storage_secondary, c.registry_password, c.registry_password2,
         c.app_insights_id, c.app_insights_key, c.kube_token),
    )  # fmt: skip


def get_credentials(db: Database, key: str) -> Credentials | None:
    row = db.one(f"SELECT {_CREDENTIALS} FROM credentials WHERE env_key = ?", (key,))
    return Credentials(*cast(tuple[str, str, str, str, str, str, str, str | None], row)) if row else None
