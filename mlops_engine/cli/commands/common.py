"""Helpers shared by command handlers: PascalCasing, time display, packing and uploading files, and
polling asynchronous operations (legacy reference 4.4, 5.3, 6.2)."""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

POLL_INTERVAL_S = float(os.environ.get("MLOPS_POLL_INTERVAL", "0.25"))
POLL_TIMEOUT_S = float(os.environ.get("MLOPS_POLL_TIMEOUT", "900"))
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def pascalize(value: Any) -> Any:
    """Upper-case the first letter of every key, recursively (the legacy CLI did this to MMS JSON)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): pascalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascalize(v) for v in value]
    return value


def convert_time(value: Any) -> Any:
    """Table display of timestamps: drop microseconds and zone (legacy `_convert_time`)."""
    if not isinstance(value, str) or not value:
        return value
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return value


def is_id(value: str) -> bool:
    """Any 32 hex digits, dashes optional, is an id (legacy quirk 12.19)."""
    return bool(_HEX32.match(value.replace("-", "")))


def space_if_empty(value: Any) -> Any:
    return value if value else " "


def _arcname(path: str) -> str:
    if os.path.isabs(path):
        return os.path.basename(os.path.normpath(path))
    norm = os.path.normpath(path)
    if norm.startswith(".."):
        return os.path.basename(os.path.abspath(path))
    return norm


def pack(path: str) -> bytes:
    """A deterministic tar.gz of a file or directory, keeping the relative path as given."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:

        def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            return info

        base = _arcname(path)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    tar.add(full, arcname=os.path.join(base, os.path.relpath(full, path)), filter=_reset)
        else:
            tar.add(path, arcname=base, filter=_reset)
    return buf.getvalue()


def upload(ctx: Context, data: bytes) -> str:
    """Store bytes in the engine's artifact store; returns its url."""
    resp = ctx.client.request("POST", "/artifacts", raw=data)
    if resp.status not in (200, 201):
        try:
            reason = f": {resp.json()['message']}"
        except (ValueError, KeyError, TypeError):
            reason = "."
        raise CliError(f"Error uploading to the artifact store (HTTP {resp.status}){reason}")
    return str(resp.json()["url"])


def asset_id() -> str:
    """Dependency asset ids: the first 32 characters of a uuid4 (legacy 5.4 step 7)."""
    return str(uuid.uuid4())[:32]


def operation_path(location: str | None) -> str:
    if not location:
        raise CliError("Invalid response header key: Operation-Location")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pages(ctx: Context, path: str, error: str) -> list[dict[str, Any]]:
    """Every item of an MMS list, following `nextLink` pages as the legacy CLI did."""
    items: list[dict[str, Any]] = []
    while path:
        page = ctx.client.call("GET", path, error=error)
        items.extend(page.get("value", []))
        path = operation_path(page["nextLink"]) if page.get("nextLink") else ""
    return items


def poll(
    ctx: Context,
    location: str | None,
    prefix: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """Poll an operation, printing `prefix` and a dot per NotStarted/Running answer.

    Returns (resource id, operation, response headers); the id is None when the operation failed
    (then 'Failed' has been printed).
    """
    path = operation_path(location)
    ctx.out(prefix, end="")
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while True:
        resp = ctx.client.request("GET", path)
        if resp.status != 200:
            ctx.out()
            raise CliError(f"Error occurred while polling for operation at {ctx.client.base_url}{path}.")
        op = resp.json()
        state = op.get("state")
        if state is None:
            raise CliError(f'Error, "State" not found in operation response: {op}')
        if state in ("NotStarted", "Running"):
            if time.monotonic() > deadline:
                ctx.out()
                raise CliError("Error, operation polling timed out")
            sleep(POLL_INTERVAL_S)
            ctx.out(".", end="")
            continue
        if state == "Succeeded":
            location_ = op.get("resourceLocation")
            if not location_:
                raise CliError("Invalid response key: ResourceLocation")
            return location_.rstrip("/").split("/")[-1], op, resp.headers
        ctx.out("Failed")
        return None, op, resp.headers


def operation_error(op: dict[str, Any], headers: dict[str, str], ctx: Context, kind: str, resource_id: str) -> CliError:
    """The legacy error for a failed image/service operation (5.5, 5.6)."""
    pop = pascalize(op)
    sorted_headers = dict(sorted(headers.items()))
    try:
        err = pop["Error"]
        status = int(err["StatusCode"])
        message = err["Message"]
        if status < 500:
            if kind == "image":
                detail: Any = {"Error Message": message, "Log Information": err["Details"][0]["Message"]}
            else:
                detail = {
                    "Error Message": message,
                    "Log information": f"Run 'az ml service logs realtime -i {resource_id}' to view more logs",
                }
        else:
            account = ctx.account()
            detail = {
                "Error Message": message,
                "Additional information": {
                    "Subscription ID": account["subscription"],
                    "Model Management Account ID": account["id"],
                    ("Image ID" if kind == "image" else "Service ID"): pop["Id"],
                    "Request ID": headers["x-ms-client-request-id"],
                },
            }
        return CliError(detail, **{"Response Code": status, "Response Content": pop, "Response Headers": sorted_headers})
    except (KeyError, IndexError, TypeError, ValueError):
        return CliError("Error occurred", **{"Response Content": pop, "Response Headers": sorted_headers})
