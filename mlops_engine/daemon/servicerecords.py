"""Service rows: typed record, load/save helpers, the wire document and the supervisor spec."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from ..serving.api import ServiceSpec
from .engine import Engine

COLUMNS = "id, account, name, mode, env_id, port, image_id, target_image_id, desired, primary_key, secondary_key, doc"
CRASH_MESSAGE = (
    "Your container application crashed. This may be caused by errors in your scoring file's init() function."
)


@dataclass(frozen=True)
class ServiceRow:
    """One service as stored; `desired` is what should run: running | failed | deleted."""

    id: str
    account: str
    name: str
    mode: str
    env_id: str
    port: int
    image_id: str
    target_image_id: str
    desired: str
    primary_key: str | None
    secondary_key: str | None
    doc: dict[str, Any]

    @property
    def keys(self) -> tuple[str, str] | None:
        if self.mode != "cluster" or not self.primary_key or not self.secondary_key:
            return None
        return (self.primary_key, self.secondary_key)

    @classmethod
    def from_db(cls, values: tuple[Any, ...]) -> ServiceRow:
        """A row selected with COLUMNS."""
        sid, account, name, mode, env_id, port, image_id, target, desired, primary, secondary, doc = values
        return cls(
            sid,
            account,
            name,
            mode,
            env_id,
            port,
            image_id,
            target,
            desired,
            primary,
            secondary,
            json.loads(doc),
        )

    def scoring_uri(self) -> str | None:
        if not self.port:
            return None
        if self.mode == "cluster":
            return f"http://127.0.0.1:{self.port}/api/v1/service/{self.name}/score"
        return f"http://127.0.0.1:{self.port}/score"


def load(engine: Engine, service_id: str, account: str | None = None) -> ServiceRow | None:
    sql = f"SELECT {COLUMNS} FROM services WHERE id = ?" + (" AND account = ?" if account else "")
    values = engine.db.one(sql, (service_id, account) if account else (service_id,))
    return ServiceRow.from_db(values) if values else None


def load_all(engine: Engine, where: str = "1", params: tuple[Any, ...] = ()) -> list[ServiceRow]:
    return [
        ServiceRow.from_db(v)
        for v in engine.db.all(f"SELECT {COLUMNS} FROM services WHERE {where} ORDER BY seq", params)
    ]


def update(
    conn: sqlite3.Connection, service_id: str, doc: dict[str, Any] | None = None, **columns: Any
) -> None:
    """Update columns (and the document) of one service inside the caller's transaction."""
    if doc is not None:
        columns["doc"] = json.dumps(doc)
    if columns:
        sets = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(f"UPDATE services SET {sets} WHERE id = ?", (*columns.values(), service_id))


def spec(engine: Engine, row: ServiceRow, image_id: str, replicas: int) -> ServiceSpec:
    """What the supervisor should run for `row` with `image_id`."""
    log_dir = engine.paths.services / row.id
    log_dir.mkdir(parents=True, exist_ok=True)
    return ServiceSpec(
        service_id=row.id,
        name=row.name,
        mode=row.mode,
        port=row.port,
        image_id=image_id,
        bundle_dir=engine.paths.images / image_id,
        replicas=replicas,
        keys=row.keys,
        log_dir=log_dir,
    )


def replica_count(doc: dict[str, Any]) -> int:
    autoscaler = doc.get("autoScaler") or {}
    if autoscaler.get("autoscaleEnabled"):
        return max(1, int(autoscaler.get("minReplicas") or 1))
    return max(1, int(doc.get("numReplicas") or 1))


def crash_error(error: str, log_tail: str) -> dict[str, Any]:
    """The operation error of a replica that failed to start (with the last 30 lines of its log)."""
    text = "\n".join(part for part in (log_tail.rstrip(), error.strip()) if part)
    tail = "\n".join(text.splitlines()[-30:])
    return {
        "code": "BadRequest",
        "statusCode": 400,
        "message": "Kubernetes Deployment failed",
        "details": [
            {"code": "CrashLoopBackOff", "message": CRASH_MESSAGE},
            {"code": "ReplicaLog", "message": tail},
        ],
    }


def wire(engine: Engine, row: ServiceRow) -> dict[str, Any]:
    """The Service object of the API: stored fields plus live ones (uri, port, replicas)."""
    doc = {k: v for k, v in row.doc.items() if not k.startswith("_")}
    uri = row.scoring_uri()
    doc["scoringUri"] = uri
    doc["swaggerUri"] = uri.rsplit("/", 1)[0] + "/swagger.json" if uri else None
    doc["port"] = row.port
    status = None
    try:
        status = engine.supervisor.status(row.id)
    except Exception:  # noqa: BLE001 - a supervisor fault must not break reads
        status = None
    doc["replicas"] = [
        {"pid": r.pid, "state": r.state, "restarts": r.restarts, "imageId": r.image_id}
        for r in (status.replicas if status else [])
    ]
    doc["liveImageId"] = status.live_image_id if status else None
    return doc


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def lock_for(service_id: str) -> threading.Lock:
    """One lock per service id: operations on a service never interleave."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(service_id, threading.Lock())
