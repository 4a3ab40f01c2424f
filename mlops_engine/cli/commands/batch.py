"""`az ml service create|list|show|delete batch` (legacy batch reference §3.1, 3.3-3.5), on the engine.

A batch service is a driver (renamed main.py, as the legacy service did) and its dependencies, kept by the
engine, with declared parameters (`--in`/`--out`/`--param <Id>[:<default>]`). Two contracts: `legacy` (the
genuine one: `main.py <Id> <value> ...`) and `parallel` (Azure ML's ParallelRunStep entry script, engine
addition: `--contract parallel` or `--parallel-config FILE`); see docs/batch.md.
"""

from __future__ import annotations

import json
import os
from typing import Any

import yaml

from mlops_engine.cli.commands.batch_common import (
    BatchFailure,
    body_text,
    environment,
    local_reference,
    pack_as,
    pascal,
    psql,
    request,
    require_env,
    say,
    usage_line,
    ws_path,
)
from mlops_engine.cli.commands.common import upload
from mlops_engine.cli.context import Context
from mlops_engine.cli.printed import Printed

_KIND = {".py": "pythonAssets", ".jar": "jarAssets"}


def _declared(items: list[str] | None, kind: str, direction: str) -> list[dict[str, Any]]:
    """`<Id>[:<default>]`, split at the first `:` (a default may be a URI); reference defaults made absolute."""
    out = []
    for item in items or []:
        pid, sep, default = item.partition(":")
        if not pid:
            raise BatchFailure(
                f"Error creating parameter list: {item!r} has no name; write <name>[:<default>]"
            )
        param: dict[str, Any] = {
            "id": pid,
            "isRuntime": True,
            "isOptional": False,
            "kind": kind,
            "direction": direction,
        }
        if sep:
            try:
                param["value"] = (
                    local_reference(default, direction == "Output") if kind == "Reference" else default
                )
            except ValueError as exc:
                raise BatchFailure(f"Error creating parameter list: {exc}") from None
        out.append(param)
    return out


def _settings_file(path: str) -> dict[str, str]:
    """The parallel-run settings of a JSON or YAML file, as strings (the engine validates them)."""
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115
        data = json.loads(text) if path.lower().endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise BatchFailure(f"Error reading the parallel-run configuration {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("parallel_run"), dict) and len(data) == 1:
        data = data["parallel_run"]
    if not isinstance(data, dict):
        raise BatchFailure(
            f"Error reading the parallel-run configuration {path}: expected a mapping of settings"
        )

    def text_of(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        return str(value)

    return {str(k): text_of(v) for k, v in data.items()}


def create(
    ctx: Context,
    driver_file: str,
    service_name: str,
    custom_ice_url: str | None,
    inputs: list[str] | None,
    outputs: list[str] | None,
    parameters: list[str] | None,
    title: str | None,
    dependencies: list[str] | None,
    verb: bool,
    contract: str | None,
    parallel_config: str | None,
    dask_scheduler: str | None,
) -> Printed:
    if verb:
        for label, value in (
            ("outputs", outputs or []),
            ("inputs", inputs or []),
            ("parameters", parameters or []),
        ):
            say(ctx, f"{label}: {value}")
        say(ctx, f"driver_file: {driver_file}")
    require_env(ctx)
    if contract not in (None, "legacy", "parallel"):
        raise BatchFailure(f"Error: --contract must be legacy or parallel, not {contract!r}")
    if parallel_config and contract == "legacy":
        raise BatchFailure(
            "Error: --parallel-config configures the parallel contract; drop --contract legacy"
        )
    if dask_scheduler and "://" not in dask_scheduler:
        raise BatchFailure(
            f"Error: --dask-scheduler takes a scheduler address such as tcp://10.0.0.5:8786, "
            f"not {dask_scheduler!r}"
        )
    if custom_ice_url:
        say(ctx, "--custom-ice-url is not used by the local engine (it builds no Docker image).")
    deps = [(os.path.abspath(os.path.expanduser(d)), d) for d in dependencies or []]
    for path, _ in deps:
        if not os.path.exists(path):
            raise BatchFailure(f"Error uploading dependencies: {path} does not exist or is not accessible")
    driver = os.path.abspath(os.path.expanduser(driver_file))
    if not os.path.isfile(driver) or not os.access(driver, os.R_OK):
        raise BatchFailure(f"Error uploading driver: {driver} does not exist or is not accessible")
    params = (
        _declared(inputs, "Reference", "Input")
        + _declared(outputs, "Reference", "Output")
        + _declared(parameters, "Value", "Input")
    )
    seen = [p["id"] for p in params]
    twice = sorted({i for i in seen if seen.count(i) > 1})
    if twice:
        raise BatchFailure(
            f"Error creating parameter list: {', '.join(twice)} declared twice; declare each once"
        )
    settings = _settings_file(parallel_config) if parallel_config else {}
    package: dict[str, Any] = {
        "driverProgramAsset": "main.py",
        "jarAssets": [],
        "pythonAssets": [],
        "fileAssets": [],
    }
    assets = []
    for path, _given in deps:
        name = os.path.basename(os.path.normpath(path))
        uri = upload(ctx, pack_as(path, name))
        assets.append({"id": name, "uri": uri})
        package[
            _KIND.get(os.path.splitext(name)[1].lower(), "fileAssets")
            if os.path.isfile(path)
            else "fileAssets"
        ].append(name)
        if verb:
            say(ctx, f"Asset {path} uploaded to {uri}")
    with open(driver, "rb") as fh:
        driver_uri = upload(ctx, fh.read())
    if verb:
        say(ctx, f"Asset {driver} uploaded to {driver_uri}")
    payload = {
        "title": title or service_name,
        "driverName": os.path.basename(driver),
        "assets": [{"id": "main.py", "uri": driver_uri}, *assets],
        "parameters": params,
        "package": package,
        "contract": "parallel" if parallel_config or contract == "parallel" else "legacy",
        "parallelRunSettings": settings,
        "daskScheduler": dask_scheduler,
    }
    url = ctx.client.base_url + ws_path(service_name)
    if verb:
        say(ctx, f"json_payload: {json.dumps(payload)}")
        say(ctx, f"Creating web service at {url}")
    resp = request(ctx, "PUT", ws_path(service_name), payload)
    if verb:
        say(ctx, body_text(resp))
    service = resp.json()
    table = psql(["NAME", "ENVIRONMENT"], [[service["id"], environment(ctx)]])
    text = f"Success.\n{table}\n\n{usage_line(service['id'], service.get('parameters') or [])}\n"
    return Printed(pascal(service), text)


def list_(ctx: Context) -> Printed:
    require_env(ctx)
    services = request(ctx, "GET", "/v1/webservices").json()
    env = environment(ctx)
    rows = [[s.get("name"), s.get("modificationTimeUtc"), env] for s in services]
    return Printed(pascal(services), psql(["NAME", "LAST_MODIFIED_AT", "ENVIRONMENT"], rows) + "\n")


def _get(ctx: Context, service_name: str, verb: bool) -> dict[str, Any]:
    resp = request(ctx, "GET", ws_path(service_name))
    if verb:
        say(ctx, body_text(resp))
    found: dict[str, Any] = resp.json()
    return found


def show(ctx: Context, service_name: str, verb: bool) -> Printed:
    require_env(ctx)
    service = _get(ctx, service_name, verb)
    env = environment(ctx)
    params = service.get("parameters") or []  # a service without parameters shows empty columns (B11)

    def ids(kind: str, direction: str) -> str:
        return ", ".join(p["id"] for p in params if p.get("kind") == kind and p.get("direction") == direction)

    first = psql(["NAME", "ENVIRONMENT"], [[service["id"], env]])
    scoring = f"{env}{ws_path(service['id'])}/jobs/<job_id>"
    second = psql(
        ["SCORING_URL", "INPUTS", "OUTPUTS", "PARAMETERS"],
        [[scoring, ids("Reference", "Input"), ids("Reference", "Output"), ids("Value", "Input")]],
    )
    return Printed(pascal(service), f"{first}\n{second}\n\n{usage_line(service['id'], params)}\n")


def delete(ctx: Context, service_name: str, verb: bool) -> Printed:
    require_env(ctx)
    service = _get(ctx, service_name, verb)
    if verb:
        say(ctx, f"Deleting resource at {ctx.client.base_url}{ws_path(service_name)}")
    resp = request(ctx, "DELETE", ws_path(service_name))
    if verb and resp.body:
        say(ctx, body_text(resp))
    return Printed(pascal(service), f"Service {service_name} deleted.\n")
