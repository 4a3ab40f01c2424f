"""MMS manifests: a driver, models and assets bound to a runtime; validated at the door."""

from __future__ import annotations

import json
from typing import Any

from .common import Response, bad_request, guid, not_found, now_iso, require_str
from .engine import MMS_BASE, Account, Engine
from .models import check_url, list_body, next_version
from .server import Request, Route, route

RUNTIMES = ("Python", "SparkPython")


def _assets(engine: Engine, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise bad_request('\'assets\' must be a list of objects {"id", "url", "mimeType", "unpack"?}.')
    assets = []
    for asset in value:
        asset_id = asset.get("id")
        if not isinstance(asset_id, str) or not asset_id:
            raise bad_request("Every asset needs a string 'id'.")
        check_url(engine, asset.get("url"), f"asset {asset_id}")
        if "unpack" in asset and not isinstance(asset["unpack"], bool):
            raise bad_request(f"Asset {asset_id}: 'unpack' must be a boolean.")
        assets.append(asset)
    if not any(a["id"] == "driver" for a in assets):
        raise bad_request("The manifest has no driver asset (an asset with id 'driver').")
    return assets


def _runtime(engine: Engine, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request('\'targetRuntime\' must be an object {"runtimeType", "properties"}.')
    if value.get("runtimeType") not in RUNTIMES:
        raise bad_request(
            f"Unsupported runtimeType {value.get('runtimeType')!r}; possible values: Python, SparkPython."
        )
    props = value.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request("'targetRuntime.properties' must be an object.")
    for key in ("pipRequirements", "condaEnvFile"):
        if props.get(key) is not None:
            check_url(engine, props[key], key)
    return {"runtimeType": value["runtimeType"], "properties": props}


def _create(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    body = req.json()
    name = require_str(body, "name")
    model_ids = body.get("modelIds") or []
    if not isinstance(model_ids, list) or not all(isinstance(m, str) for m in model_ids):
        raise bad_request("'modelIds' must be a list of model ids.")
    assets = _assets(engine, body.get("assets"))
    runtime = _runtime(engine, body.get("targetRuntime"))
    with engine.db.tx() as conn:
        for mid in model_ids:
            if not conn.execute(
                "SELECT 1 FROM models WHERE id = ? AND account = ?", (mid, account.key)
            ).fetchone():
                raise bad_request(f"Model with id {mid} not found in this account.")
        version = next_version(conn, "manifests", account.key, name)
        doc = {
            "id": guid(),
            "name": name,
            "version": version,
            "description": body.get("description"),
            "driverProgram": body.get("driverProgram") or "driver",
            "modelType": body.get("modelType") or "Registered",
            "modelIds": model_ids,
            "assets": assets,
            "targetRuntime": runtime,
            "createdTime": now_iso(),
            "webserviceType": "Realtime",
        }
        conn.execute(
            "INSERT INTO manifests (id, account, name, version, doc) VALUES (?, ?, ?, ?, ?)",
            (doc["id"], account.key, name, version, json.dumps(doc)),
        )
    return Response(200, doc)


def load(engine: Engine, account: Account, manifest_id: str) -> dict[str, Any] | None:
    row = engine.db.one("SELECT doc FROM manifests WHERE id = ? AND account = ?", (manifest_id, account.key))
    return json.loads(row[0]) if row else None


def _list(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    rows = engine.db.all("SELECT doc FROM manifests WHERE account = ? ORDER BY seq", (account.key,))
    docs = [r[0] for r in rows]
    if "manifestName" in req.query:
        docs = [d for d in docs if json.loads(d)["name"] == req.query["manifestName"]]
    if "modelId" in req.query:
        docs = [d for d in docs if req.query["modelId"] in json.loads(d)["modelIds"]]
    return Response(200, raw=list_body(docs))


def _show(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    doc = load(engine, account, req.params["id"])
    if doc is None:
        raise not_found("Manifest")
    return Response(200, doc)


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS_BASE + "/manifests", lambda req: _create(engine, req)),
        route("GET", MMS_BASE + "/manifests", lambda req: _list(engine, req)),
        route("GET", MMS_BASE + "/manifests/(?P<id>[^/]+)", lambda req: _show(engine, req)),
    ]
