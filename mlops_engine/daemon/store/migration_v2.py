"""Schema 2: every stored fact in its own column (schema 1 kept each resource's MMS JSON document).

The move reads each schema-1 document once and writes its fields into the new tables; the `_pending`
update settings a killed daemon could leave inside a service document are dropped (their operation never
finished, so they were never applied). Service names get the legacy scoping: cluster services are unique
per account, local services per engine home (they run on this machine, like the legacy Docker containers).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Final

from ..jsonvalue import JSON, JSONObject

SCHEMA: Final = """
    CREATE TABLE accounts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, rg TEXT NOT NULL,
        name TEXT NOT NULL, location TEXT NOT NULL, tags TEXT NOT NULL, sku_name TEXT NOT NULL,
        sku_capacity INTEGER NOT NULL, description TEXT, created_on TEXT NOT NULL, modified_on TEXT NOT NULL);
    CREATE TABLE environments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, rg TEXT NOT NULL,
        name TEXT NOT NULL, location TEXT NOT NULL, tags TEXT NOT NULL, description TEXT,
        created_on TEXT NOT NULL, modified_on TEXT NOT NULL, state TEXT NOT NULL, cluster_type TEXT NOT NULL,
        suffix TEXT NOT NULL, acs_client_id TEXT, master_count INTEGER, agent_count INTEGER,
        agent_vm_size TEXT, system_version TEXT, failure_code TEXT, failure_message TEXT,
        serving_python TEXT, serving_executable TEXT, serving_httptools TEXT);
    CREATE TABLE credentials (
        env_key TEXT PRIMARY KEY, storage_primary TEXT NOT NULL, storage_secondary TEXT NOT NULL,
        registry_password TEXT NOT NULL, registry_password2 TEXT NOT NULL, app_insights_id TEXT NOT NULL,
        app_insights_key TEXT NOT NULL, kube_token TEXT);
    CREATE TABLE models (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, tags TEXT NOT NULL, description TEXT,
        url TEXT NOT NULL, mime_type TEXT NOT NULL, unpack INTEGER NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE manifests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, description TEXT, driver_program TEXT NOT NULL,
        model_type TEXT NOT NULL, model_ids TEXT NOT NULL, assets TEXT NOT NULL, runtime_type TEXT NOT NULL,
        pip_requirements TEXT, conda_env_file TEXT, created_time TEXT NOT NULL);
    CREATE TABLE images (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, version INTEGER NOT NULL, description TEXT, compute_resource_id TEXT,
        created_time TEXT NOT NULL, state TEXT NOT NULL, manifest_id TEXT NOT NULL, error TEXT);
    CREATE TABLE services (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        name TEXT NOT NULL, mode TEXT NOT NULL, env_key TEXT NOT NULL, compute_id TEXT NOT NULL,
        port INTEGER NOT NULL, image_id TEXT NOT NULL, target_image_id TEXT NOT NULL, desired TEXT NOT NULL,
        primary_key TEXT, secondary_key TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, num_replicas INTEGER NOT NULL, app_insights INTEGER NOT NULL,
        storage_enabled INTEGER NOT NULL, event_hub_enabled INTEGER NOT NULL, autoscale_enabled INTEGER,
        min_replicas INTEGER, max_replicas INTEGER, target_utilization INTEGER,
        refresh_period_seconds INTEGER, cpu TEXT, memory TEXT, max_concurrent INTEGER, error TEXT);
    CREATE TABLE operations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        type TEXT NOT NULL, state TEXT NOT NULL, created_time TEXT NOT NULL, end_time TEXT,
        resource_location TEXT NOT NULL, error TEXT);
"""

INDEXES: Final = """
    CREATE INDEX models_by_name ON models (account, name, version);
    CREATE INDEX models_by_account ON models (account, seq);
    CREATE INDEX manifests_by_name ON manifests (account, name, version);
    CREATE INDEX manifests_by_account ON manifests (account, seq);
    CREATE INDEX images_by_name ON images (account, name, version);
    CREATE INDEX images_by_account ON images (account, seq);
    CREATE UNIQUE INDEX cluster_service_names ON services (account, name) WHERE mode = 'cluster';
    CREATE UNIQUE INDEX local_service_names ON services (name) WHERE mode = 'local';
    CREATE INDEX services_by_env ON services (env_key);
"""

_RESOURCES: Final = ("accounts", "environments", "models", "manifests", "images", "services", "operations")


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute `;`-separated statements inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


class _Doc:
    """Typed reads of a schema-1 document; a missing or mistyped field stops the migration."""

    def __init__(self, raw: JSON, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise TypeError(f"{where}: not a JSON object")
        self.raw: JSONObject = raw
        self.where = where

    def get(self, key: str) -> JSON:
        return self.raw.get(key)

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str):
            raise TypeError(f"{self.where}: '{key}' is not a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.raw.get(key)
        return value if isinstance(value, str) else None

    def number(self, key: str, default: int | None = None) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int):
            raise TypeError(f"{self.where}: '{key}' is not an integer")
        return value

    def opt_number(self, key: str) -> int | None:
        value = self.raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def opt_flag(self, key: str) -> bool | None:
        value = self.raw.get(key)
        return bool(value) if value is not None else None

    def obj(self, key: str) -> _Doc:
        value = self.raw.get(key)
        return _Doc(value if isinstance(value, Mapping) else {}, f"{self.where}.{key}")

    def items(self, key: str) -> Sequence[JSON]:
        value = self.raw.get(key)
        return value if isinstance(value, list) else []


def _load(text: object, where: str) -> _Doc:
    if not isinstance(text, str):
        raise TypeError(f"{where}: the stored document is missing")
    parsed: JSON = json.loads(text)
    return _Doc(parsed, where)


def _error(value: JSON) -> str | None:
    """A schema-1 error object {"code", "statusCode", "message", "details"} in the schema-2 encoding."""
    if not isinstance(value, Mapping):
        return None
    doc = _Doc(value, "error")
    details = [_Doc(d, "detail") for d in doc.items("details")]
    return json.dumps(
        {
            "status": doc.number("statusCode", 500),
            "code": doc.text("code"),
            "message": doc.text("message"),
            "details": [{"code": d.text("code"), "message": d.text("message")} for d in details],
        }
    )


def _rg_of(arm_id: str) -> str:
    return arm_id.split("/")[4]


def _accounts(conn: sqlite3.Connection) -> None:
    for seq, key, text in conn.execute("SELECT seq, key, doc FROM accounts_v1").fetchall():
        doc = _load(text, f"account {key}")
        props, sku = doc.obj("properties"), doc.obj("sku")
        conn.execute(
            "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, key, _rg_of(doc.text("id")), doc.text("name"), doc.text("location"), json.dumps(doc.get("tags") or {}),
             sku.text("name"), sku.number("capacity"), props.opt_text("description"), props.text("createdOn"),
             props.text("modifiedOn")),
        )  # fmt: skip


def _environments(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT seq, key, doc, secrets, serving FROM environments_v1").fetchall()
    for seq, key, text, secrets, serving in rows:
        doc = _load(text, f"environment {key}")
        props = doc.obj("properties")
        suffix = props.obj("storageAccount").text("resourceId").rsplit("/", 1)[1].removeprefix("mlcrpstg")
        acs = props.obj("containerService")
        versions = [_Doc(s, "systemService").text("version") for s in acs.items("systemServices")]
        errors = [_Doc(e, "provisioningErrors").obj("error") for e in props.items("provisioningErrors")]
        detail = (
            _Doc(errors[0].items("details")[0], "detail") if errors and errors[0].items("details") else None
        )
        probe = _load(serving, f"environment {key} serving") if serving else None
        conn.execute(
            "INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, key, _rg_of(doc.text("id")), doc.text("name"), doc.text("location"), json.dumps(doc.get("tags") or {}),
             props.opt_text("description"), props.text("createdOn"), props.text("modifiedOn"),
             props.text("provisioningState"), props.text("clusterType"), suffix,
             acs.obj("orchestratorProperties").obj("servicePrincipal").opt_text("clientId"),
             acs.opt_number("masterCount"), acs.opt_number("agentCount"), acs.opt_text("agentVmSize"), versions[0] if versions else None,
             detail.text("code") if detail else None, detail.text("message") if detail else None,
             probe.text("python") if probe else None, probe.text("executable") if probe else None,
             probe.text("httptools") if probe else None),
        )  # fmt: skip
        if secrets:
            creds = _load(secrets, f"environment {key} credentials")
            storage, registry, insights = (
                creds.obj("storageAccount"),
                creds.obj("containerRegistry"),
                creds.obj("appInsights"),
            )
            kube = creds.obj("containerService").opt_text("acsKubeConfig")
            token = re.search(r"token: (\w+)", kube) if kube else None
            conn.execute(
                "INSERT INTO credentials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, storage.text("primaryKey"), storage.text("secondaryKey"), registry.text("password"),
                 registry.text("password2"), insights.text("appId"), insights.text("instrumentationKey"),
                 token.group(1) if token else None),
            )  # fmt: skip


def _models(conn: sqlite3.Connection) -> None:
    for seq, account, text in conn.execute("SELECT seq, account, doc FROM models_v1").fetchall():
        doc = _load(text, "model")
        conn.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, doc.text("id"), account, doc.text("name"), doc.number("version"), json.dumps(doc.items("tags")),
             doc.opt_text("description"), doc.text("url"), doc.text("mimeType"), int(bool(doc.get("unpack"))),
             doc.text("createdAt")),
        )  # fmt: skip


def _manifests(conn: sqlite3.Connection) -> None:
    for seq, account, text in conn.execute("SELECT seq, account, doc FROM manifests_v1").fetchall():
        doc = _load(text, "manifest")
        assets = [_Doc(a, "asset") for a in doc.items("assets")]
        runtime = doc.obj("targetRuntime")
        props = runtime.obj("properties")
        encoded = [
            {
                "id": a.text("id"),
                "url": a.text("url"),
                "mime_type": a.opt_text("mimeType"),
                "unpack": a.opt_flag("unpack"),
            }
            for a in assets
        ]
        conn.execute(
            "INSERT INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, doc.text("id"), account, doc.text("name"), doc.number("version"), doc.opt_text("description"),
             doc.text("driverProgram"), doc.text("modelType"), json.dumps(doc.items("modelIds")), json.dumps(encoded),
             runtime.text("runtimeType"), props.opt_text("pipRequirements"), props.opt_text("condaEnvFile"),
             doc.text("createdTime")),
        )  # fmt: skip


def _images(conn: sqlite3.Connection) -> None:
    for seq, account, text in conn.execute("SELECT seq, account, doc FROM images_v1").fetchall():
        doc = _load(text, "image")
        conn.execute(
            "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, doc.text("id"), account, doc.text("name"), doc.number("version"), doc.opt_text("description"),
             doc.opt_text("computeResourceId"), doc.text("createdTime"), doc.text("creationState"),
             doc.obj("manifest").text("id"), _error(doc.get("error"))),
        )  # fmt: skip


def _services(conn: sqlite3.Connection) -> None:
    columns = "seq, id, account, name, mode, env_id, port, image_id, target_image_id, desired, primary_key, secondary_key"
    for *values, text in conn.execute(f"SELECT {columns}, doc FROM services_v1").fetchall():
        doc = _load(text, f"service {values[1]}")
        data, scaler, reservation = (
            doc.obj("dataCollection"),
            doc.obj("autoScaler"),
            doc.obj("containerResourceReservation"),
        )
        enabled = scaler.opt_flag("autoscaleEnabled")
        conn.execute(
            "INSERT INTO services VALUES (" + ", ".join("?" * 29) + ")",
            (*values[:6], doc.obj("computeResource").text("id"), *values[6:], doc.text("state"), doc.text("createdAt"),
             doc.text("updatedAt"), doc.number("numReplicas", 1), int(bool(doc.get("appInsightsEnabled"))),
             int(bool(data.get("storageEnabled"))), int(bool(data.get("eventHubEnabled"))),
             None if enabled is None else int(enabled), scaler.opt_number("minReplicas"), scaler.opt_number("maxReplicas"),
             scaler.opt_number("targetUtilization"), scaler.opt_number("refreshPeriodInSeconds"), reservation.opt_text("cpu"),
             reservation.opt_text("memory"), doc.opt_number("maxConcurrentRequestsPerContainer"), _error(doc.get("error"))),
        )  # fmt: skip


def _operations(conn: sqlite3.Connection) -> None:
    for seq, account, text in conn.execute("SELECT seq, account, doc FROM operations_v1").fetchall():
        doc = _load(text, "operation")
        conn.execute(
            "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, doc.text("id"), account, doc.text("operationType"), doc.text("state"), doc.text("createdTime"),
             doc.opt_text("endTime"), doc.text("resourceLocation"), _error(doc.get("error"))),
        )  # fmt: skip


def to_v2(conn: sqlite3.Connection) -> None:
    """Rename the schema-1 tables, create schema 2, move every row, drop the old tables, index."""
    for table in _RESOURCES:
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    run_script(conn, SCHEMA)
    for move in (_accounts, _environments, _models, _manifests, _images, _services, _operations):
        move(conn)
    for table in _RESOURCES:
        conn.execute(f"DROP TABLE {table}_v1")
    run_script(conn, INDEXES)
