"""What the batch commands share (legacy batch reference §1-§3): the environment check, the engine's batch API
(`/v1/webservices/...` on the daemon), the genuine failure text, psql tables, the `Usage:` line, and where
progress and `-v` lines go.

Fixed here, against the genuine code (docs/compatibility.md, "Batch"): every error exits 1 and is printed on
stderr (B3: they exited 0 on stdout); `-v` prints bodies as text, never Python bytes literals (B4); the usage
line has no double space (B9); names are URL-encoded (B14).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
from typing import Any, Final
from urllib.parse import quote

from mlops_engine.cli import profile
from mlops_engine.cli.client import Response
from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

REMOTE: Final = ("http:", "https:", "wasb:", "wasbs:")
# User-named keys inside results: kept as typed when the result is PascalCased for -o json.
_USER_KEYS: Final = ("parameters", "parallelRunSettings", "parameterAssignments")


class BatchFailure(CliError):
    """A handled error of a batch command: the genuine lines, on stderr, exit 1."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def render(self) -> str:
        return self.text


class EnvironmentNotSet(CliError):
    """The genuine batch commands had no handler for this one: `ERROR: {'Error': "..."}` (transcript 10)."""

    def render(self) -> str:
        return "ERROR: " + repr({"Error": profile.NO_ENV_MODE})


def require_env(ctx: Context) -> str:
    """The current environment's mode; batch commands need one set (`az ml env set`), as the genuine CLI did."""
    try:
        env = profile.load_env(ctx.paths)
    except CliError:
        env = None
    if not env:
        raise EnvironmentNotSet(profile.NO_ENV_MODE)
    return str(env.get("current_execution_mode", "local"))


def say(ctx: Context, text: str = "") -> None:
    """Progress and -v lines: stdout as the genuine CLI printed them, stderr when -o/--query ask for a result."""
    stream = sys.stdout if ctx.plain else sys.stderr
    stream.write(text + "\n")
    stream.flush()


def ws_path(service: str, *rest: str) -> str:
    return "/v1/webservices/" + "/".join(quote(p, safe="") for p in (service, *rest))


def environment(ctx: Context) -> str:
    """What the tables show as ENVIRONMENT: where the batch service answers (the daemon)."""
    return ctx.client.base_url


def failure(resp: Response) -> BatchFailure:
    """`Failed.` / `Response code: N` / the service's message (the genuine text, legacy reference §2)."""
    detail = resp.body.decode("utf-8", errors="replace")
    try:
        body = json.loads(detail)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            detail = body["message"]
        elif isinstance(body, dict) and isinstance(body.get("error"), dict):
            detail = "\n".join(str(d.get("message")) for d in body["error"].get("details") or [])
    except ValueError:
        pass
    return BatchFailure(f"Failed.\nResponse code: {resp.status}\n{detail}")


def request(ctx: Context, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
    resp = ctx.client.request(method, path, body)
    if resp.status not in ok:
        raise failure(resp)
    return resp


def body_text(resp: Response) -> str:
    """A response body for -v: the text the service sent (the genuine CLI printed `b'...'`, bug B4)."""
    return resp.body.decode("utf-8", errors="replace")


def psql(headers: list[str], rows: list[list[Any]]) -> str:
    """The genuine tables: tabulate's psql format, its defaults (numbers parsed, as tabulate did then)."""
    import tabulate

    return str(tabulate.tabulate(rows, headers=headers, tablefmt="psql"))


def usage_line(service: str, parameters: list[dict[str, Any]]) -> str:
    """`Usage: az ml service run batch -n S <params> [-w] [-j <job_id>] [-v]`: parameters without a default
    first (inputs, then outputs), then the defaulted ones in brackets (legacy reference §3.1)."""

    def shown(p: dict[str, Any]) -> str:
        flag = (
            "--param" if p.get("kind") == "Value" else "--out" if p.get("direction") == "Output" else "--in"
        )
        text = f"{flag}={p.get('id')}:<value>"
        return f"[{text}]" if "value" in p else text

    required_in = [p for p in parameters if "value" not in p and p.get("direction") != "Output"]
    required_out = [p for p in parameters if "value" not in p and p.get("direction") == "Output"]
    defaulted = [p for p in parameters if "value" in p]
    words = [shown(p) for p in required_in + required_out + defaulted]
    return " ".join(["Usage: az ml service run batch -n", service, *words, "[-w] [-j <job_id>] [-v]"])


def pascal(value: Any, keep: bool = False) -> Any:
    """PascalCase keys as the genuine client did, except inside user-named maps (parameter Ids, settings)."""
    if isinstance(value, dict):
        if keep:
            return dict(value)
        return {k[:1].upper() + k[1:]: pascal(v, k in _USER_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def local_reference(value: str, output: bool) -> str:
    """A reference value made absolute (`~` expanded); an input must exist. Raises ValueError with the reason."""
    if value.lower().startswith(REMOTE):
        raise ValueError(
            f"Remote paths ({value}) are not supported by the local engine: give a local path or a file:// URI"
        )
    if value.startswith("file:"):
        return value
    path = os.path.abspath(os.path.expanduser(value))
    if not output and not os.path.exists(path):
        raise ValueError(f"{path} does not exist or is not accessible")
    return path


def pack_as(path: str, name: str) -> bytes:
    """A deterministic tar.gz holding `path` (a file or a folder) under `name`."""

    def reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        tar.add(path, arcname=name, filter=reset, recursive=True)  # folders are added sorted
    return buf.getvalue()
