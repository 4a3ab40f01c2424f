"""Services in state.db.

Scoping follows the legacy CLI (docs/compatibility.md): a cluster service belongs to its Model Management
account (names unique per account); a local service runs on this machine, so it is seen from every
account and its name is unique in the engine home. A local and a cluster service may share a name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final, cast

from .codec import decode_error, encode_error
from .database import Database, Params, Row
from .records import (
    AutoScaler,
    DataCollection,
    Desired,
    Reservation,
    Service,
    ServiceMode,
    ServiceSettings,
    WorkState,
)

_COLUMNS: Final = (
    "id, account, name, mode, env_key, compute_id, port, image_id, target_image_id, desired, primary_key, "
    "secondary_key, state, created_at, updated_at, num_replicas, app_insights, storage_enabled, "
    "event_hub_enabled, autoscale_enabled, min_replicas, max_replicas, target_utilization, "
    "refresh_period_seconds, cpu, memory, max_concurrent, error"
)
_NAMES: Final = [c.strip() for c in _COLUMNS.split(",")]
_S = str | None
_I = int | None
_ServiceRow = tuple[
    str, str, str, str, str, str, int, str, str, str, _S, _S, str, str, str, int, int, int, int, _I, _I, _I, _I,
    _I, _S, _S, _I, _S,
]  # fmt: skip
_VISIBLE: Final = "(account = ? OR mode = 'local')"


def _service(row: Row) -> Service:
    (sid, account, name, mode, env_key, compute_id, port, image_id, target, desired, primary, secondary, state,
     created, updated, replicas, insights, storage, event_hub, scale, scale_min, scale_max, utilization, refresh,
     cpu, memory, concurrent, error) = cast(_ServiceRow, row)  # fmt: skip
    settings = ServiceSettings(
        num_replicas=replicas,
        app_insights_enabled=bool(insights),
        data_collection=DataCollection(bool(storage), bool(event_hub)),
        autoscaler=AutoScaler(
            None if scale is None else bool(scale), scale_min, scale_max, utilization, refresh
        ),
        reservation=Reservation(cpu, memory),
        max_concurrent_requests=concurrent,
    )
    return Service(sid, account, name, cast(ServiceMode, mode), env_key, compute_id, port, image_id, target,
                   cast(Desired, desired), primary, secondary, cast(WorkState, state), created, updated, settings,
                   decode_error(error))  # fmt: skip


def _values(s: Service) -> tuple[object, ...]:
    st = s.settings
    scale = st.autoscaler
    return (
        s.id, s.account, s.name, s.mode, s.env_key, s.compute_id, s.port, s.image_id, s.target_image_id, s.desired,
        s.primary_key, s.secondary_key, s.state, s.created_at, s.updated_at, st.num_replicas,
        int(st.app_insights_enabled), int(st.data_collection.storage_enabled),
        int(st.data_collection.event_hub_enabled), None if scale.enabled is None else int(scale.enabled),
        scale.min_replicas, scale.max_replicas, scale.target_utilization, scale.refresh_period_seconds,
        st.reservation.cpu, st.reservation.memory, st.max_concurrent_requests, encode_error(s.error),
    )  # fmt: skip


def insert(conn: sqlite3.Connection, service: Service) -> None:
    marks = ", ".join("?" * len(_NAMES))
    conn.execute(f"INSERT INTO services ({_COLUMNS}) VALUES ({marks})", _values(service))


def save(conn: sqlite3.Connection, service: Service) -> None:
    """Write every field of an existing service (inside the caller's transaction)."""
    assignments = ", ".join(f"{name} = ?" for name in _NAMES[1:])
    conn.execute(f"UPDATE services SET {assignments} WHERE id = ?", (*_values(service)[1:], service.id))


def modify(db: Database, service_id: str, change: Callable[[Service], Service]) -> Service | None:
    """Apply `change` to the stored service in one transaction (never to a stale copy); None if it is gone."""
    with db.tx() as conn:
        current = get(db, service_id)
        if current is None:
            return None
        changed = change(current)
        save(conn, changed)
        return changed


def delete(conn: sqlite3.Connection, service_id: str) -> None:
    conn.execute("DELETE FROM services WHERE id = ?", (service_id,))


def get(db: Database, service_id: str, account: str | None = None) -> Service | None:
    """The service `service_id`; with `account`, only if that account can see it (its own, or local)."""
    if account is None:
        row = db.one(f"SELECT {_COLUMNS} FROM services WHERE id = ?", (service_id,))
    else:
        row = db.one(f"SELECT {_COLUMNS} FROM services WHERE id = ? AND {_VISIBLE}", (service_id, account))
    return _service(row) if row else None


def visible_to(db: Database, account: str) -> list[Service]:
    """The services an account sees: its cluster services and every local service of this home."""
    return _select(db, _VISIBLE, (account,))


def in_environment(db: Database, env_key: str) -> list[Service]:
    return _select(db, "env_key = ?", (env_key,))


def to_restore(db: Database) -> list[Service]:
    return _select(db, "desired = 'running'", ())


def name_taken(db: Database, account: str, name: str, mode: ServiceMode, service_id: str) -> Service | None:
    """The service a new one called `name` would clash with (same id, or same name in the same scope)."""
    if mode == "cluster":
        found = _select(
            db, "id = ? OR (name = ? AND mode = 'cluster' AND account = ?)", (service_id, name, account)
        )
    else:
        found = _select(db, "id = ? OR (name = ? AND mode = 'local')", (service_id, name))
    return found[0] if found else None


def reset_targets(db: Database) -> int:
    """Point every service's update target back at its last good image; how many changed."""
    with db.tx() as conn:
        return conn.execute(
            "UPDATE services SET target_image_id = image_id WHERE target_image_id != image_id"
        ).rowcount


def _select(db: Database, where: str, params: Params) -> list[Service]:
    return [
        _service(r) for r in db.all(f"SELECT {_COLUMNS} FROM services WHERE {where} ORDER BY seq", params)
    ]
