"""Service keys (cluster mode) and merged replica logs."""

from __future__ import annotations

import heapq
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from . import servicerecords as rec
from .common import Response, bad_request
from .engine import Engine
from .server import Request

log = logging.getLogger(__name__)

_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)")


def _cluster_only(row: rec.ServiceRow) -> None:
    if row.mode != "cluster":
        raise bad_request("Key operations not supported for local services")


def keys(engine: Engine, row: rec.ServiceRow) -> Response:
    _cluster_only(row)
    return Response(200, {"primaryKey": row.primary_key, "secondaryKey": row.secondary_key})


def regenerate(engine: Engine, row: rec.ServiceRow, req: Request) -> Response:
    _cluster_only(row)
    key_type = str(req.json().get("keyType") or "").capitalize()
    if key_type not in ("Primary", "Secondary"):
        raise bad_request("Invalid keyType; possible values: Primary, Secondary.")
    column = "primary_key" if key_type == "Primary" else "secondary_key"
    new = secrets.token_hex(16)
    with rec.lock_for(row.id):
        with engine.db.tx() as conn:
            conn.execute(f"UPDATE services SET {column} = ? WHERE id = ?", (new, row.id))
        fresh = rec.load(engine, row.id)
        assert fresh is not None and fresh.keys is not None
        try:
            engine.supervisor.set_keys(row.id, fresh.keys)
        except Exception:
            log.exception("could not push new keys to the replicas of %s", row.id)
    return Response(200, {"primaryKey": fresh.primary_key, "secondaryKey": fresh.secondary_key})


def _lines(path: Path) -> Iterator[tuple[str, int, str]]:
    """(timestamp, line number, text); untimestamped lines (tracebacks) keep the previous timestamp."""
    last = ""
    with open(path, errors="replace") as handle:
        for number, line in enumerate(handle):
            match = _TS.match(line)
            if match:
                last = match.group(1).replace(" ", "T").replace(",", ".")
            yield last, number, line.rstrip("\n")


def logs(engine: Engine, row: rec.ServiceRow, req: Request) -> Response:
    try:
        max_lines = int(req.query.get("maxLines") or 5000)
    except ValueError as exc:
        raise bad_request("'maxLines' must be an integer.") from exc
    request_id = req.query.get("requestId")
    files = sorted((engine.paths.services / row.id).glob("replica-*.log"))
    merged = (text for _ts, _n, text in heapq.merge(*(_lines(f) for f in files), key=lambda t: t[0]))
    selected = [t for t in merged if not request_id or request_id in t]
    return Response(200, {"lines": selected[-max_lines:] if max_lines > 0 else []})
