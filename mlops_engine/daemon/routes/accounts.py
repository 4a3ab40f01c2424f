"""Resource groups and Model Management accounts (ARM wire format), and an account's MMS swagger."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from ..engine import Engine
from ..errors import ApiError, bad_request
from ..ids import now_iso
from ..jsonvalue import JSON, JSONObject
from ..server import Request, Response, Route, route
from ..store import accounts as store
from ..store.records import Account, scope_key
from .common import MMS, RG, SUB, bind, listed, scope_of
from .fields import opt_object, opt_str, str_map

PROVIDER: Final = "/providers/Microsoft.MachineLearningModelManagement/accounts"
ACCOUNT_TYPE: Final = "Microsoft.MachineLearningModelManagement/accounts"
SKUS: Final = ("S1", "S2", "S3", "DevTest")


def account_json(engine: Engine, a: Account) -> JSON:
    sub = engine.subscription_id
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{a.rg}{PROVIDER}/{a.name}",
        "name": a.name,
        "location": a.location,
        "type": ACCOUNT_TYPE,
        "tags": dict(a.tags),
        "sku": {"name": a.sku_name, "capacity": a.sku_capacity},
        "properties": {
            "description": a.description,
            "createdOn": a.created_on,
            "modifiedOn": a.modified_on,
            # names the daemon's port, which may change across restarts: computed, never stored
            "modelManagementSwaggerLocation": (
                f"{engine.base_url()}/api/subscriptions/{sub}/resourceGroups/{a.rg}/accounts/{a.name}"
                "/swagger.json?api-version=2017-09-01-preview"
            ),
        },
    }


def _sku(value: JSON, default: tuple[str, int]) -> tuple[str, int]:
    if value is None:
        return default
    if not isinstance(value, dict):
        raise bad_request('\'sku\' must be an object {"name", "capacity"}.')
    name, capacity = value.get("name", default[0]), value.get("capacity", default[1])
    if not isinstance(name, str) or name not in SKUS:
        raise bad_request(f"Invalid sku name {name!r}. Possible values are S1|S2|S3|DevTest")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 16:
        raise bad_request("Invalid sku capacity. Must be a value between 1 and 16 inclusive")
    return name, capacity


def _properties(body: JSONObject) -> JSONObject:
    return opt_object(body, "properties") or {}


def _put_rg(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json() if req.length else {}
    location = body.get("location") or "local"
    with engine.db.tx() as conn:
        created = store.ensure_resource_group(conn, req.params["rg"], str(location))
    return _rg(engine, req, 201 if created else 200)


def _rg(engine: Engine, req: Request, status: int = 200) -> Response:
    engine.check_sub(req.params["sub"])
    group = store.get_resource_group(engine.db, req.params["rg"])
    if group is None:
        raise ApiError(
            404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found."
        )
    return Response(status, {"name": group.name, "location": group.location})


def _put_account(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json()
    rg, name = req.params["rg"], req.params["name"]
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise bad_request("Missing or invalid field 'location'.")
    props = _properties(body)
    description = opt_str(props, "description") if "description" in props else ""
    sku = _sku(body.get("sku"), ("S1", 1))
    tags = str_map(body, "tags")
    now = now_iso()
    with engine.db.tx() as conn:
        store.ensure_resource_group(conn, rg, location)
        existing = store.get(engine.db, scope_key(rg, name))
        if existing is not None:
            account = replace(existing, sku_name=sku[0], sku_capacity=sku[1], tags=tags,
                              description=description, modified_on=now)  # fmt: skip
        else:
            account = Account(
                scope_key(rg, name), rg, name, location, tags, sku[0], sku[1], description, now, now
            )
        store.save(conn, account)
    return Response(200 if existing else 201, account_json(engine, account))


def _require(engine: Engine, req: Request) -> Account:
    engine.check_sub(req.params["sub"])
    account = store.get(engine.db, scope_key(req.params["rg"], req.params["name"]))
    if account is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{ACCOUNT_TYPE}/{req.params['name']}' under resource group "
            f"'{req.params['rg']}' was not found.",
        )
    return account


def _get_account(engine: Engine, req: Request) -> Response:
    return Response(200, account_json(engine, _require(engine, req)))


def _patch_account(engine: Engine, req: Request) -> Response:
    body = req.json()
    _require(engine, req)
    with engine.db.tx() as conn:
        account = store.get(engine.db, scope_key(req.params["rg"], req.params["name"]))
        if account is None:
            raise ApiError(404, "ResourceNotFound", "The account was deleted concurrently.")
        if "sku" in body:
            name, capacity = _sku(body["sku"], (account.sku_name, account.sku_capacity))
            account = replace(account, sku_name=name, sku_capacity=capacity)
        if "tags" in body:
            account = replace(account, tags=str_map(body, "tags"))
        props = _properties(body)
        if "description" in props:
            account = replace(account, description=opt_str(props, "description"))
        account = replace(account, modified_on=now_iso())
        store.save(conn, account)
    return Response(200, account_json(engine, account))


def _delete_account(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    with engine.db.tx() as conn:
        deleted = store.delete(conn, scope_key(req.params["rg"], req.params["name"]))
    return Response(200, {}) if deleted else Response(204)


def _list_accounts(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    return listed([account_json(engine, a) for a in store.list_all(engine.db, req.params.get("rg"))])


def _swagger(engine: Engine, req: Request) -> Response:
    """The account's MMS endpoint description (what modelManagementSwaggerLocation points at)."""
    scope = scope_of(engine, req)
    return Response(
        200,
        {
            "swagger": "2.0",
            "info": {"title": "mlops local Model Management Service", "version": "2017-09-01-preview"},
            "host": f"127.0.0.1:{engine.port}",
            "basePath": scope.base(),
            "schemes": ["http"],
            "paths": {f"/{kind}": {} for kind in ("models", "manifests", "images", "services", "operations")},
        },
    )


def routes(engine: Engine) -> list[Route]:
    account = SUB + RG + PROVIDER + "/(?P<name>[^/]+)"
    accounts = SUB + f"(?:{RG})?" + PROVIDER
    return [
        route("PUT", SUB + RG, bind(engine, _put_rg)),
        route("GET", SUB + RG, bind(engine, _rg)),
        route("PUT", account, bind(engine, _put_account)),
        route("GET", account, bind(engine, _get_account)),
        route("PATCH", account, bind(engine, _patch_account)),
        route("DELETE", account, bind(engine, _delete_account)),
        route("GET", accounts, bind(engine, _list_accounts)),
        route("GET", MMS + "/swagger.json", bind(engine, _swagger)),
    ]
