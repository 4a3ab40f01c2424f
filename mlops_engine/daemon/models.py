"""MMS models: register (version per name), list (indexed, built from stored JSON), show."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .common import Response, bad_request, model_id, not_found, now_iso, require_str
from .engine import MMS_BASE, Engine
from .server import Request, Route, route


def next_version(conn: sqlite3.Connection, table: str, account: str, name: str) -> int:
    """Previous max version for (account, name) + 1, answered from the (account, name, version) index."""
    row = conn.execute(
        f"SELECT MAX(version) FROM {table} WHERE account = ? AND name = ?", (account, name)
    ).fetchone()
    return int(row[0] or 0) + 1


def list_body(docs: list[str]) -> bytes:
    """`{"value": [...]}` from stored JSON documents, without decoding them."""
    return ('{"value": [' + ", ".join(docs) + "]}").encode()


def check_url(engine: Engine, url: Any, what: str) -> str:
    if not isinstance(url, str):
        raise bad_request(f"Missing or invalid url for {what}.")
    try:
        engine.store.resolve_url(url)
    except ValueError as exc:
        raise bad_request(f"Invalid url for {what}: {exc}") from exc
    return url


def _register(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    body = req.json()
    name = require_str(body, "name")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_request("'tags' must be a list of strings.")
    url = check_url(engine, body.get("url"), f"model {name}")
    unpack = body.get("unpack", False)
    if not isinstance(unpack, bool):
        raise bad_request("'unpack' must be a boolean.")
    with engine.db.tx() as conn:
        version = next_version(conn, "models", account.key, name)
        doc = {
            "id": model_id(),
            "name": name,
            "version": version,
            "tags": tags,
            "description": body.get("description"),
            "url": url,
            "mimeType": body.get("mimeType") or "application/octet-stream",
            "unpack": unpack,
            "createdAt": now_iso(),
        }
        conn.execute(
            "INSERT INTO models (id, account, name, version, doc) VALUES (?, ?, ?, ?, ?)",
            (doc["id"], account.key, name, version, json.dumps(doc)),
        )
    return Response(200, doc)


def _list(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    name, tag = req.query.get("name"), req.query.get("tag")
    if name is not None:
        rows = engine.db.all(
            "SELECT doc FROM models WHERE account = ? AND name = ? ORDER BY version", (account.key, name)
        )
    else:
        rows = engine.db.all("SELECT doc FROM models WHERE account = ? ORDER BY seq", (account.key,))
    docs = [r[0] for r in rows]
    if tag is not None:
        docs = [d for d in docs if tag in json.loads(d)["tags"]]
    return Response(200, raw=list_body(docs))


def _show(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    row = engine.db.one(
        "SELECT doc FROM models WHERE id = ? AND account = ?", (req.params["id"], account.key)
    )
    if row is None:
        raise not_found("Model")
    return Response(200, raw=row[0].encode())


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS_BASE + "/models", lambda req: _register(engine, req)),
        route("GET", MMS_BASE + "/models", lambda req: _list(engine, req)),
        route("GET", MMS_BASE + "/models/(?P<id>[^/]+)", lambda req: _show(engine, req)),
    ]
