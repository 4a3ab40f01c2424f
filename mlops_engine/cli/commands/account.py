"""`az ml account modelmanagement create|show|list|update|delete|set` (legacy reference 5.2)."""

from __future__ import annotations

import json
from typing import Any

from mlops_engine.cli import profile
from mlops_engine.cli.commands.arm import ACCOUNTS, call, list_path, resource_path, segment
from mlops_engine.cli.commands.common import convert_time
from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

SKUS = ("S1", "S2", "S3", "DevTest")


def _serialize(acct: dict[str, Any]) -> dict[str, Any]:
    props = acct.get("properties", {})
    return {
        "created_on": props.get("createdOn"),
        "description": props.get("description"),
        "id": acct["id"],
        "location": acct.get("location"),
        "model_management_swagger_location": props.get("modelManagementSwaggerLocation"),
        "modified_on": props.get("modifiedOn"),
        "name": acct["name"],
        "sku": acct.get("sku"),
        "tags": acct.get("tags", {}),
        "type": acct.get("type"),
        "subscription": segment(acct["id"], 2),
        "resource_group": segment(acct["id"], 4),
    }


def _shown(acct: dict[str, Any]) -> dict[str, Any]:
    data = _serialize(acct)
    data["resourceGroup"] = data.pop("resource_group")  # azure-cli-core adds resourceGroup from the id
    return data


def _table(result: Any) -> list[dict[str, Any]]:
    rows = result if isinstance(result, list) else [result]
    return [
        {
            "Name": r["name"],
            "Subscription": r["subscription"],
            "Resource Group": r["resourceGroup"],
            "Location": r["location"],
            "Created On": convert_time(r["created_on"]),
        }
        for r in rows
    ]


def _tags(tags: str) -> dict[str, Any]:
    try:
        value = json.loads(tags)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise CliError("Invalid format provided for tags. Please provide tags in the format '{\"key\": \"value\"}'")
    return value


def _check_sku(name: str, instances: int) -> None:
    if name not in SKUS:
        raise CliError("Invalid sku name provided. Possible values are S1|S2|S3|DevTest")
    if not 1 <= instances <= 16:
        raise CliError("Invalid sku instances provided. Must be a value between 1 and 16 inclusive")


def _set(ctx: Context, acct: dict[str, Any]) -> None:
    data = _serialize(acct)
    ctx.out(json.dumps(data, indent=2, sort_keys=True))
    profile.save_account(ctx.paths, data)


def create(ctx: Context, location: str, name: str, resource_group: str, description: str,
           sku_instances: int, sku_name: str, tags: str, verb: bool) -> None:
    _check_sku(sku_name, sku_instances)
    body = {"location": location, "properties": {"description": description},
            "sku": {"capacity": sku_instances, "name": sku_name}, "tags": _tags(tags)}
    acct = call(ctx, "PUT", resource_path(ctx, ACCOUNTS, resource_group, name), body, "creating model management account")
    _set(ctx, acct)


def show(ctx: Context, name: str | None, resource_group: str | None, verb: bool) -> Any:
    if not (name and resource_group):
        current = profile.require_account(ctx.paths)
        name, resource_group = current["name"], current["resource_group"]
    acct = call(ctx, "GET", resource_path(ctx, ACCOUNTS, resource_group, name), None, "showing model management account", ok=(200,))
    return _shown(acct), _table


def list_(ctx: Context, resource_group: str | None, verb: bool) -> Any:
    page = call(ctx, "GET", list_path(ctx, ACCOUNTS, resource_group), None, "listing model management accounts", ok=(200,))
    return [_shown(a) for a in page.get("value", [])], _table


def update(ctx: Context, name: str, resource_group: str, description: str | None, sku_instances: int | None,
           sku_name: str | None, tags: str | None, verb: bool) -> None:
    # The legacy CLI printed the raw tags string first (a leftover debug print, kept for fidelity) and
    # always sent tags {} and description "" -- wiping them (quirk 12.10). We send only what was given.
    ctx.out(tags if tags is not None else "{}")
    body: dict[str, Any] = {}
    if description is not None:
        body["properties"] = {"description": description}
    if tags is not None:
        body["tags"] = _tags(tags)
    if sku_name or sku_instances is not None:
        if not sku_name:
            raise CliError("Error, please provide sku name")
        if sku_instances is None:
            raise CliError("Error, please provide sku instances")
        sku_name = sku_name[:1].upper() + sku_name[1:]
        _check_sku(sku_name, sku_instances)
        body["sku"] = {"capacity": sku_instances, "name": sku_name}
    acct = call(ctx, "PATCH", resource_path(ctx, ACCOUNTS, resource_group, name), body, "updating model management account", ok=(200,))
    ctx.out(json.dumps(_serialize(acct), indent=2, sort_keys=True))


def delete(ctx: Context, name: str, resource_group: str, verb: bool) -> None:
    call(ctx, "DELETE", resource_path(ctx, ACCOUNTS, resource_group, name), None, "deleting model management account", ok=(200, 204))


def set_(ctx: Context, name: str, resource_group: str, verb: bool) -> None:
    acct = call(ctx, "GET", resource_path(ctx, ACCOUNTS, resource_group, name), None, "setting model management account", ok=(200,))
    _set(ctx, acct)
