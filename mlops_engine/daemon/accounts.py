"""Resource groups and Model Management accounts (ARM wire format)."""

from __future__ import annotations

import json
from typing import Any

from .common import ApiError, Response, bad_request, now_iso
from .engine import MMS_BASE, RG_PATTERN, SUB_PATTERN, Engine
from .server import Request, Route, route

PROVIDER = "/providers/Microsoft.MachineLearningModelManagement/accounts"
ACCOUNT_TYPE = "Microsoft.MachineLearningModelManagement/accounts"
SKUS = ("S1", "S2", "S3", "DevTest")


def ensure_resource_group(engine: Engine, rg: str, location: str) -> bool:
    """Create the resource group if missing; True if it was created."""
    with engine.db.tx() as conn:
        if conn.execute("SELECT 1 FROM resource_groups WHERE key = ?", (rg.lower(),)).fetchone():
            return False
        conn.execute(
            "INSERT INTO resource_groups (key, name, location) VALUES (?, ?, ?)", (rg.lower(), rg, location)
        )
        return True


def _put_rg(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json() if req.length else {}
    location = body.get("location") or "local"
    created = ensure_resource_group(engine, req.params["rg"], str(location))
    row = engine.db.one(
        "SELECT name, location FROM resource_groups WHERE key = ?", (req.params["rg"].lower(),)
    )
    assert row is not None
    return Response(201 if created else 200, {"name": row[0], "location": row[1]})


def _get_rg(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    row = engine.db.one(
        "SELECT name, location FROM resource_groups WHERE key = ?", (req.params["rg"].lower(),)
    )
    if row is None:
        raise ApiError(
            404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found."
        )
    return Response(200, {"name": row[0], "location": row[1]})


def _sku(value: Any, default: dict[str, Any]) -> dict[str, Any]:
    if value is None:
        return default
    if not isinstance(value, dict):
        raise bad_request('\'sku\' must be an object {"name", "capacity"}.')
    name = value.get("name", default["name"])
    capacity = value.get("capacity", default["capacity"])
    if name not in SKUS:
        raise bad_request(f"Invalid sku name {name!r}. Possible values are S1|S2|S3|DevTest")
    if not isinstance(capacity, int) or not 1 <= capacity <= 16:
        raise bad_request("Invalid sku capacity. Must be a value between 1 and 16 inclusive")
    return {"name": name, "capacity": capacity}


def _tags(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("'tags' must be a JSON object.")
    return value


def _doc(engine: Engine, req: Request) -> tuple[str, str]:
    sub, rg, name = req.params["sub"], req.params["rg"], req.params["name"]
    return f"{rg.lower()}/{name.lower()}", f"/subscriptions/{sub}/resourceGroups/{rg}{PROVIDER}/{name}"


def _swagger_location(engine: Engine, sub: str, rg: str, name: str) -> str:
    return (
        f"{engine.base_url()}/api/subscriptions/{sub}/resourceGroups/{rg}/accounts/{name}"
        "/swagger.json?api-version=2017-09-01-preview"
    )


def _put_account(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json()
    key, arm_id = _doc(engine, req)
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise bad_request("Missing or invalid field 'location'.")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request("'properties' must be a JSON object.")
    sku = _sku(body.get("sku"), {"name": "S1", "capacity": 1})
    ensure_resource_group(engine, req.params["rg"], location)
    now = now_iso()
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM accounts WHERE key = ?", (key,)).fetchone()
        if row:
            doc = json.loads(row[0])
            doc.update(sku=sku, tags=_tags(body.get("tags")))
            doc["properties"].update(description=props.get("description", ""), modifiedOn=now)
            conn.execute("UPDATE accounts SET doc = ? WHERE key = ?", (json.dumps(doc), key))
            return Response(200, doc)
        doc = {
            "id": arm_id,
            "name": req.params["name"],
            "location": location,
            "type": ACCOUNT_TYPE,
            "tags": _tags(body.get("tags")),
            "sku": sku,
            "properties": {
                "description": props.get("description", ""),
                "createdOn": now,
                "modifiedOn": now,
                "modelManagementSwaggerLocation": _swagger_location(
                    engine, req.params["sub"], req.params["rg"], req.params["name"]
                ),
            },
        }
        conn.execute(
            "INSERT INTO accounts (key, rg_key, name, doc) VALUES (?, ?, ?, ?)",
            (key, req.params["rg"].lower(), req.params["name"], json.dumps(doc)),
        )
    return Response(201, doc)


def _load(engine: Engine, req: Request) -> tuple[str, dict[str, Any]]:
    engine.check_sub(req.params["sub"])
    key, _ = _doc(engine, req)
    row = engine.db.one("SELECT doc FROM accounts WHERE key = ?", (key,))
    if row is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{ACCOUNT_TYPE}/{req.params['name']}' under resource group "
            f"'{req.params['rg']}' was not found.",
        )
    return key, _refresh(engine, json.loads(row[0]))


def _refresh(engine: Engine, doc: dict[str, Any]) -> dict[str, Any]:
    # The swagger location names the daemon's port, which may change across restarts.
    parts = doc["id"].split("/")
    doc["properties"]["modelManagementSwaggerLocation"] = _swagger_location(
        engine, parts[2], parts[4], doc["name"]
    )
    return doc


def _get_account(engine: Engine, req: Request) -> Response:
    return Response(200, _load(engine, req)[1])


def _patch_account(engine: Engine, req: Request) -> Response:
    body = req.json()
    key, _ = _load(engine, req)
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM accounts WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise ApiError(404, "ResourceNotFound", "The account was deleted concurrently.")
        doc = json.loads(row[0])
        if "sku" in body:
            doc["sku"] = _sku(body["sku"], doc["sku"])
        if "tags" in body:
            doc["tags"] = _tags(body["tags"])
        props = body.get("properties") or {}
        if isinstance(props, dict) and "description" in props:
            doc["properties"]["description"] = props["description"]
        doc["properties"]["modifiedOn"] = now_iso()
        conn.execute("UPDATE accounts SET doc = ? WHERE key = ?", (json.dumps(doc), key))
    return Response(200, _refresh(engine, doc))


def _delete_account(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    key, _ = _doc(engine, req)
    with engine.db.tx() as conn:
        deleted = conn.execute("DELETE FROM accounts WHERE key = ?", (key,)).rowcount
    return Response(200 if deleted else 204, {} if deleted else None)


def _list_accounts(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    rg = req.params.get("rg")
    if rg:
        rows = engine.db.all("SELECT doc FROM accounts WHERE rg_key = ? ORDER BY seq", (rg.lower(),))
    else:
        rows = engine.db.all("SELECT doc FROM accounts ORDER BY seq")
    return Response(200, {"value": [_refresh(engine, json.loads(r[0])) for r in rows]})


def _swagger(engine: Engine, req: Request) -> Response:
    """The account's MMS endpoint description (what modelManagementSwaggerLocation points at)."""
    account = engine.account(req.params)
    return Response(
        200,
        {
            "swagger": "2.0",
            "info": {"title": "mlops local Model Management Service", "version": "2017-09-01-preview"},
            "host": f"127.0.0.1:{engine.port}",
            "basePath": account.base(),
            "schemes": ["http"],
            "paths": {f"/{kind}": {} for kind in ("models", "manifests", "images", "services", "operations")},
        },
    )


def routes(engine: Engine) -> list[Route]:
    a = SUB_PATTERN + RG_PATTERN + PROVIDER + "/(?P<name>[^/]+)"
    lst = SUB_PATTERN + f"(?:{RG_PATTERN})?" + PROVIDER
    rg = SUB_PATTERN + RG_PATTERN

    def bind(fn: Any) -> Any:
        return lambda req: fn(engine, req)

    return [
        route("PUT", rg, bind(_put_rg)),
        route("GET", rg, bind(_get_rg)),
        route("PUT", a, bind(_put_account)),
        route("GET", a, bind(_get_account)),
        route("PATCH", a, bind(_patch_account)),
        route("DELETE", a, bind(_delete_account)),
        route("GET", lst, bind(_list_accounts)),
        route("GET", MMS_BASE + "/swagger.json", bind(_swagger)),
    ]
