"""Paths and errors of the ARM-like resources (accounts, environments, resource groups)."""

from __future__ import annotations

from typing import Any

from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

ACCOUNTS = "Microsoft.MachineLearningModelManagement/accounts"
CLUSTERS = "Microsoft.MachineLearningCompute/operationalizationClusters"


def rg_path(ctx: Context, rg: str) -> str:
    return f"/subscriptions/{ctx.subscription}/resourceGroups/{rg}"


def resource_path(ctx: Context, kind: str, rg: str, name: str) -> str:
    return f"{rg_path(ctx, rg)}/providers/{kind}/{name}"


def list_path(ctx: Context, kind: str, rg: str | None) -> str:
    scope = rg_path(ctx, rg) if rg else f"/subscriptions/{ctx.subscription}"
    return f"{scope}/providers/{kind}"


def call(ctx: Context, method: str, path: str, body: Any, verb: str, ok: tuple[int, ...] = (200, 201)) -> Any:
    """An ARM call; failures print the RP's code and message (legacy 5.2 RP errors)."""
    resp = ctx.client.request(method, path, body)
    if resp.status in ok:
        return resp.json()
    try:
        err = resp.json() or {}
    except ValueError:
        err = {}
    raise CliError(
        f"Error occurred {verb}.",
        **{"Response Code": err.get("code", str(resp.status)), "Response Content": err.get("message", resp.body.decode(errors="replace"))},
    )


def segment(resource_id: str, index: int) -> str:
    parts = resource_id.split("/")
    return parts[index] if len(parts) > index else ""
