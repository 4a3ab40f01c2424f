"""Batch services in state.db (one per name in the engine home, listed in creation order)."""

from __future__ import annotations

import json
import sqlite3
from typing import Final, cast

from .batch_records import AssetKind, BatchAsset, BatchParameter, BatchService, Contract, Direction, ParamKind
from .database import Database, Row

_COLUMNS: Final = (
    "name, title, contract, app_dir, driver_name, driver_uri, assets, parameters, settings, dask_scheduler, "
    "created, modified"
)
_NAMES: Final = [c.strip() for c in _COLUMNS.split(",")]
_Row = tuple[str, str, str, str, str, str, str, str, str, str | None, str, str]


def encode_parameters(parameters: tuple[BatchParameter, ...]) -> str:
    return json.dumps([[p.id, p.kind, p.direction, p.default] for p in parameters])


def decode_parameters(text: str) -> tuple[BatchParameter, ...]:
    return tuple(
        BatchParameter(str(i), cast(ParamKind, k), cast(Direction, d), None if v is None else str(v))
        for i, k, d, v in json.loads(text)
    )


def _assets(text: str) -> tuple[BatchAsset, ...]:
    return tuple(BatchAsset(str(i), str(u), cast(AssetKind, k)) for i, u, k in json.loads(text))


def _service(row: Row) -> BatchService:
    name, title, contract, app, driver, driver_uri, assets, params, settings, dask, created, modified = cast(
        _Row, row
    )
    return BatchService(
        name,
        title,
        cast(Contract, contract),
        app,
        driver,
        driver_uri,
        _assets(assets),
        decode_parameters(params),
        {str(k): str(v) for k, v in json.loads(settings).items()},
        dask,
        created,
        modified,
    )


def _values(s: BatchService) -> tuple[object, ...]:
    return (
        s.name,
        s.title,
        s.contract,
        s.app_dir,
        s.driver_name,
        s.driver_uri,
        json.dumps([[a.id, a.uri, a.kind] for a in s.assets]),
        encode_parameters(s.parameters),
        json.dumps(dict(s.settings)),
        s.dask_scheduler,
        s.created,
        s.modified,
    )


def put(conn: sqlite3.Connection, service: BatchService) -> None:
    """Insert, or replace an existing service of that name in place (it keeps its place in lists)."""
    marks = ", ".join("?" * len(_NAMES))
    updates = ", ".join(f"{n} = excluded.{n}" for n in _NAMES[1:] if n != "created")
    conn.execute(
        f"INSERT INTO batch_services ({_COLUMNS}) VALUES ({marks}) ON CONFLICT (name) DO UPDATE SET {updates}",
        _values(service),
    )


def delete(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM batch_services WHERE name = ?", (name,))


def get(db: Database, name: str) -> BatchService | None:
    row = db.one(f"SELECT {_COLUMNS} FROM batch_services WHERE name = ?", (name,))
    return _service(row) if row else None


def all_services(db: Database) -> list[BatchService]:
    return [_service(r) for r in db.all(f"SELECT {_COLUMNS} FROM batch_services ORDER BY seq")]
