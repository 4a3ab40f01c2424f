"""`az ml model register|show|list` (legacy reference 5.3)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from mlops_engine.cli import profile
from mlops_engine.cli.commands.common import (
    convert_time,
    is_id,
    pack,
    pages,
    pascalize,
    space_if_empty,
    upload,
)
from mlops_engine.cli.context import Context, Created
from mlops_engine.cli.errors import CliError

NO_ENV = ("Missing information for current compute context. Please set your current compute by running: "
          "az ml env set -n <env_name> -g <env_rg>")


def register_model(ctx: Context, path: str, name: str, tags: list[str], description: str | None, verb: bool) -> str:
    """Pack, upload and register one model; prints the legacy lines; returns the model id."""
    account = ctx.account()
    if verb:
        ctx.out("Starting model register")
    if path.startswith(("http:", "https:", "wasb")):
        url, unpack = path, False
    else:
        if not os.path.exists(path):
            if verb:
                ctx.out(f"Error: no such path {path}")
            raise CliError(f"Error resolving model: no such file or directory {path}")
        if not profile.load_env(ctx.paths):
            raise CliError(NO_ENV)
        data = pack(path)
        ctx.out(f" {path}")
        url, unpack = upload(ctx, data), True
    payload = {"name": name, "tags": tags, "description": description or "", "url": url,
               "mimeType": "application/json", "unpack": unpack}
    models_url = ctx.mms_url("/models")
    if verb:
        ctx.out(f"Attempting to register model to {models_url}")
        ctx.out(f"Attempting to register model with this information: {payload}")
        ctx.out(f"Model register post url: {models_url}")
    model = ctx.client.call("POST", profile.mms_base(account) + "/models", payload, "Error occurred registering model.")
    ctx.created.append(Created("model", str(model["id"]), name))
    ctx.out("Successfully registered model")
    ctx.out(f"Id: {model['id']}")
    ctx.out(f"More information: 'az ml model show -m {model['id']}'")
    return str(model["id"])


def register(ctx: Context, model_path: str, model_name: str, tags: list[str] | None, description: str | None,
             verb: bool) -> None:
    register_model(ctx, model_path, model_name, tags or [], description, verb)


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    return {"Name": m["Name"], "Id": m["Id"], "Version": m["Version"], "CreatedAt": m["CreatedAt"],
            "Tags": space_if_empty(", ".join(m.get("Tags") or [])), "Description": space_if_empty(m.get("Description"))}


def _show_table(result: Any) -> list[dict[str, Any]]:
    rows = result if isinstance(result, list) else [result]
    # legacy bug kept for fidelity (quirk 12.4): the already-joined Tags string is joined again
    return [{"Name": r["Name"], "Id": r["Id"], "Version": r["Version"], "CreatedAt": convert_time(r["CreatedAt"]),
             "Tags": ", ".join(r["Tags"])} for r in rows]


def _list_table(result: Any) -> list[dict[str, Any]]:
    return [{"Name": r["Name"], "Id": r["Id"], "Version": r["Version"], "CreatedAt": convert_time(r["CreatedAt"])}
            for r in result]


def show(ctx: Context, model: str, tag: str | None, verb: bool) -> Any:
    if is_id(model):
        if verb:
            ctx.out(f"Model {model} successfully parsed into ID")
        found = pascalize(ctx.client.call("GET", ctx.mms(f"/models/{model}"), error="Error occurred showing model."))
        return (found if verb else _summary(found)), _show_table
    if verb:
        ctx.out(f"Model {model} parsed into name")
    query = f"?name={quote(model)}" + (f"&tag={quote(tag)}" if tag else "")
    models = pascalize(pages(ctx, ctx.mms("/models" + query), "Error occurred showing model."))
    return (models if verb else [_summary(m) for m in models]), _show_table


def list_(ctx: Context, tag: str | None, verb: bool) -> Any:
    query = f"?tag={quote(tag)}" if tag else ""
    models = pascalize(pages(ctx, ctx.mms("/models" + query), "Error occurred listing models."))
    rows = models if verb else [{"Name": m["Name"], "Id": m["Id"], "Version": m["Version"], "CreatedAt": m["CreatedAt"]}
                                for m in models]
    return rows, _list_table
