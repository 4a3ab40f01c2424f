"""`az ml service create|list|show|update|delete|run|keys|usage|logs realtime` (legacy reference 5.6).

The current environment's mode decides the flavour, as in the legacy CLI: cluster-mode services have
keys, `/api/v1/service/<name>/score` URLs and support update; local-mode services are unauthenticated,
print `[Local mode]` lines and refuse update and key operations.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from mlops_engine.cli import profile
from mlops_engine.cli.commands.common import convert_time, operation_error, pages, pascalize, poll
from mlops_engine.cli.commands.image import compute_resource_id, create_image
from mlops_engine.cli.commands.manifest import check_runtime
from mlops_engine.cli.commands.sample import sample_argument
from mlops_engine.cli.commands.scoring import replica_request, swagger_example
from mlops_engine.cli.context import Context, Created
from mlops_engine.cli.errors import CliError, HttpError
from mlops_engine.cli.hints import OneStep, local_update, one_step_leftovers

LOCAL = "[Local mode] "


def _bool(value: str | None, name: str) -> bool | None:
    if not value:
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise CliError(f"Error, invalid value provided for {name}: {value}")


def _options(app_insights: str | None, collect: str | None, autoscale: str | None, num_replicas: int | None,
             amin: int | None, amax: int | None, target: int | None, refresh: int | None, cpu: str | None,
             memory: str | None, max_concurrent: int | None) -> dict[str, Any]:
    """The request fields for the given flags. As in the legacy CLI, a flag whose value is falsy (`-z 0`,
    `--autoscale-min-replicas 0`, `--cpu ""`) is left out of the request, so the service default applies;
    values are checked by the Model Management service, not here (daemon/routes/limits.py)."""
    body: dict[str, Any] = {}
    app = _bool(app_insights, "app_insights_logging_enabled")
    data = _bool(collect, "model_data_collection_enabled")
    auto = _bool(autoscale, "autoscale_enabled")
    if num_replicas and not auto:
        body["numReplicas"] = num_replicas
    if app is not None:
        body["appInsightsEnabled"] = app
    if data is not None:
        body["dataCollection"] = {"storageEnabled": data, "eventHubEnabled": False}
    scaler: dict[str, Any] = {} if auto is None else {"autoscaleEnabled": auto}
    scaler.update((k, v) for k, v in (("minReplicas", amin), ("maxReplicas", amax), ("targetUtilization", target),
                                      ("refreshPeriodInSeconds", refresh)) if v)
    reservation = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    body["autoScaler"], body["containerResourceReservation"] = scaler, reservation
    if max_concurrent:
        body["maxConcurrentRequestsPerContainer"] = max_concurrent
    return body


def _get_service(ctx: Context, service_id: str, missing_ok: bool = False) -> dict[str, Any] | None:
    resp = ctx.client.request("GET", ctx.mms(f"/services/{quote(service_id)}"))
    if resp.status == 404 and missing_ok:
        return None
    if resp.status != 200:
        raise HttpError(f"Error occurred while attempting to show service {service_id}.", resp.status, resp.headers, resp.body)
    return resp.json()


def _keys(ctx: Context, service_id: str) -> dict[str, str]:
    return ctx.client.call("GET", ctx.mms(f"/services/{quote(service_id)}/keys"),
                           error="Error occurred while listing keys for service.")


def _sample(ctx: Context, service: dict[str, Any], verb: bool) -> str:
    url = service.get("swaggerUri") or ""
    if verb:
        ctx.out(f"[Debug] Fetching sample data from swagger endpoint: {url}")
    return sample_argument(swagger_example(url))


def _mode(ctx: Context) -> str:
    return profile.current_mode(ctx.paths)


def _finish(ctx: Context, service_id: str, verb: bool, prefix: str = "") -> None:
    service = _get_service(ctx, service_id)
    assert service is not None
    sample = _sample(ctx, service, verb)
    ctx.out(f"{prefix}Done")
    ctx.out(f"{prefix}Service ID: {service_id}")
    ctx.out(f"{prefix}Usage: az ml service run realtime -i {service_id} -d {sample}")
    ctx.out(f"{prefix}Additional usage information: 'az ml service usage realtime -i {service_id}'")


def _failed(ctx: Context, op: dict[str, Any], headers: dict[str, str], service_id: str) -> CliError:
    details = (op.get("error") or {}).get("details") or []
    logs = [d.get("message", "") for d in details if d.get("code") == "ReplicaLog"]
    if logs:
        ctx.out("Last lines of the failing replica's log:")
        ctx.out(logs[0].rstrip("\n"))
    return operation_error(op, headers, ctx, "service", service_id)


def create(ctx: Context, service_name: str, autoscale_enabled: str | None, autoscale_max_replicas: int | None,
           autoscale_min_replicas: int | None, autoscale_refresh_period_seconds: int | None,
           autoscale_target_utilization: int | None, collect_model_data: str | None, cpu: str | None,
           app_insights_enabled: str | None, memory: str | None, replica_max_concurrent_requests: int | None,
           verb: bool, num_replicas: int | None, image_id: str | None, conda_file: str | None,
           model_files: list[str] | None, dependencies: list[str] | None, driver_file: str | None,
           requirements: str | None, runtime: str | None, schema_file: str | None) -> None:
    options = _options(app_insights_enabled, collect_model_data, autoscale_enabled, num_replicas,
                       autoscale_min_replicas, autoscale_max_replicas, autoscale_target_utilization,
                       autoscale_refresh_period_seconds, cpu, memory, replica_max_concurrent_requests)
    if not image_id:
        if not driver_file:
            raise CliError("Either image id or information to create an image must be provided")
        check_runtime(runtime)
    mode = _mode(ctx)
    compute = compute_resource_id(ctx)
    if image_id:
        return _create(ctx, service_name, image_id, options, mode, compute, verb)
    try:  # one step: model(s), manifest and image first; on failure, say what was left and how to reuse it
        image_id = create_image(ctx, service_name[:30], "", None, verb, driver_file=driver_file, runtime=runtime,
                                schema_file=schema_file, dependencies=dependencies or [], requirements=requirements,
                                conda_file=conda_file, model_ids=[], model_files=model_files or [])
        _create(ctx, service_name, image_id, options, mode, compute, verb)
    except CliError as err:
        request = OneStep(service_name, str(driver_file), str(runtime), schema_file, requirements, conda_file,
                          tuple(dependencies or ()))
        raise err.with_hint(one_step_leftovers(ctx.created, request)) from None


def _create(ctx: Context, service_name: str, image_id: str, options: dict[str, Any], mode: str, compute: str,
            verb: bool) -> None:
    if verb:
        ctx.out("Starting service create")
    # key order is the legacy CLI's (it shows in the -v payload line)
    payload: dict[str, Any] = {"imageId": image_id, "name": service_name}
    payload.update({k: options[k] for k in ("numReplicas", "appInsightsEnabled", "dataCollection") if k in options})
    payload["computeResource"] = {"id": compute, "type": "Cluster" if mode == "cluster" else "Local"}
    payload.update({k: v for k, v in options.items() if k not in payload})
    if verb:
        ctx.out(f"Sending the following payload to {ctx.mms_url('/services')}\n{payload}")
    resp = ctx.client.request("POST", ctx.mms("/services"), payload)
    if resp.status != 202:
        raise HttpError("Error occurred creating service.", resp.status, resp.headers, resp.body)
    location = resp.header("Operation-Location")
    if verb and location:
        ctx.out(f"Operation Id: {location.rstrip('/').split('/')[-1]}")
    if mode == "local":
        ctx.out(LOCAL + "Starting the scoring service.")
        service_id, op, headers = poll(ctx, location, LOCAL + "Waiting for the service to initialize")
        if service_id is None:
            ctx.created.append(Created("service", service_name, service_name, failed=True))
            raise _failed(ctx, op, headers, service_name)
        ctx.out("")  # ends the progress line
        _finish(ctx, service_id, verb, prefix=LOCAL)
        return
    service_id, op, headers = poll(ctx, location, "Creating service")
    if service_id is None:
        failed_id = str(op.get("resourceLocation", "")).rstrip("/").split("/")[-1]
        ctx.created.append(Created("service", failed_id, service_name, failed=True))
        raise _failed(ctx, op, headers, failed_id)
    _finish(ctx, service_id, verb)


# Engine-only fields of a service (replicas, port, swagger URL) are not part of the MMS object the legacy
# CLI printed with -v; `python -m mlops_engine daemon status` shows the replicas.
_ENGINE_FIELDS = ("LiveImageId", "Port", "Replicas", "SwaggerUri")


def _mms_fields(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if k not in _ENGINE_FIELDS}


def _summary(s: dict[str, Any]) -> dict[str, Any]:
    image = s.get("Image") or {}
    manifest = image.get("Manifest") or {}
    return {"Name": s["Name"], "Id": s["Id"], "UpdatedAt": s.get("UpdatedAt"), "Service_Type": manifest.get("WebserviceType"),
            "Models": ", ".join(f"{m['Name']} [Ver. {m['Version']}]" for m in s.get("Models") or []),
            "Manifest_Name": manifest.get("Name"), "Manifest_Version": manifest.get("Version"),
            "Image_URL": image.get("ImageLocation"), "State": s.get("State")}


def _local_row(s: dict[str, Any]) -> dict[str, Any]:
    image = s.get("image") or {}
    running = s.get("state") == "Succeeded"
    return {"Name": s["name"], "Id": s["id"], "Image": image.get("imageLocation"),
            "State": "running" if running else str(s.get("state", "")).lower(), "UpdatedAt": s.get("updatedAt")}


def _table(result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, dict) and not all(isinstance(r, dict) and "State" in r for r in result):
        raise TypeError("rows without State")
    rows = [result] if isinstance(result, dict) else result
    return [{"Name": r["Name"], "Id": r["Id"], "UpdatedAt": convert_time(r["UpdatedAt"]), "State": r["State"]} for r in rows]


def _show_table(result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, dict):  # legacy quirk 12.5: `show -n` returns a list the transformer rejects
        raise TypeError("list")
    return _table(result)


def _list(ctx: Context, mode: str, name: str | None = None) -> list[dict[str, Any]]:
    query = "?computeType=" + ("Cluster" if mode == "cluster" else "Local") + (f"&serviceName={quote(name)}" if name else "")
    return pages(ctx, ctx.mms("/services" + query), "Error occurred while attempting to list services.")


def list_(ctx: Context, verb: bool) -> Any:
    mode = _mode(ctx)
    services = _list(ctx, mode)
    # the table columns are the command's whatever the rows are (-v raw objects, local-mode rows)
    if mode == "local":
        return [_local_row(s) for s in services], _table
    raw = [_mms_fields(s) for s in pascalize(services)]
    if verb:
        return raw, _table
    return [{k: v for k, v in _summary(s).items() if k in ("Name", "Id", "UpdatedAt", "Service_Type", "State")} for s in raw], _table


def show(ctx: Context, service_id: str | None, service_name: str | None, verb: bool) -> Any:
    if not (service_id or service_name):
        raise CliError("Error, one of service name or service id must be provided")
    mode = _mode(ctx)
    if mode == "local":
        found = [s for s in _list(ctx, mode) if s["name"] == (service_name or service_id)]
        return ([_local_row(s) for s in found] if service_name else (_local_row(found[0]) if found else None)), _show_table
    if service_name:
        found_raw = [_mms_fields(s) for s in pascalize(_list(ctx, mode, service_name))]
        return (found_raw if verb else [_summary(s) for s in found_raw]), _show_table
    service = _get_service(ctx, str(service_id), missing_ok=True)
    if service is None:
        return None
    raw = _mms_fields(pascalize(service))
    return (raw if verb else _summary(raw)), _show_table


def update(ctx: Context, service_id: str, autoscale_enabled: str | None, autoscale_max_replicas: int | None,
           autoscale_min_replicas: int | None, autoscale_refresh_period_seconds: int | None,
           autoscale_target_utilization: int | None, collect_model_data: str | None, cpu: str | None,
           app_insights_enabled: str | None, image_id: str | None, memory: str | None,
           replica_max_concurrent_requests: int | None, verb: bool, num_replicas: int | None) -> None:
    if _mode(ctx) == "local":
        raise CliError("Error, service update not supported for local services.").with_hint(local_update(service_id))
    options = _options(app_insights_enabled, collect_model_data, autoscale_enabled, num_replicas,
                       autoscale_min_replicas, autoscale_max_replicas, autoscale_target_utilization,
                       autoscale_refresh_period_seconds, cpu, memory, replica_max_concurrent_requests)
    if not options["autoScaler"]:
        del options["autoScaler"]
    if not options["containerResourceReservation"]:
        del options["containerResourceReservation"]
    if num_replicas:  # the update sends -z whatever autoscale says (reference 5.6, service update)
        options["numReplicas"] = num_replicas
    if not image_id:
        current = _get_service(ctx, service_id)
        assert current is not None
        image_id = current["image"]["id"]
    resp = ctx.client.request("PUT", ctx.mms(f"/services/{quote(service_id)}"), {"imageId": image_id, **options})
    if resp.status != 202:
        raise HttpError(f"Error occurred updating service {service_id}.", resp.status, resp.headers, resp.body)
    location = resp.header("Operation-Location")
    if verb and location:
        ctx.out(f"Operation Id: {location.rstrip('/').split('/')[-1]}")
    done_id, op, headers = poll(ctx, location, "Updating service")
    if done_id is None:
        raise _failed(ctx, op, headers, service_id)
    _finish(ctx, service_id, verb)


def delete(ctx: Context, service_id: str, verb: bool) -> None:
    mode = _mode(ctx)
    resp = ctx.client.request("DELETE", ctx.mms(f"/services/{quote(service_id)}"))
    if mode == "local":
        if resp.status == 204 or resp.status == 404:
            raise CliError(f"[Local mode] Error: no service named {service_id} found running locally.")
        ctx.out("Service deleted.")
        return
    if resp.status == 200:
        ctx.out(f"Successfully deleted service: {service_id}")
    elif resp.status in (204, 404):
        ctx.out(f"Service to delete {service_id} not found.")
    else:
        raise HttpError(f"Error occurred while attempting to delete service {service_id}.", resp.status, resp.headers, resp.body)


def run(ctx: Context, service_id: str, input_data: str, verb: bool) -> None:
    mode = _mode(ctx)
    if verb:
        ctx.out(f"data: {input_data}")
    if mode == "local":
        found = [s for s in _list(ctx, mode) if s["name"] == service_id]
        if not found:
            raise CliError(f"[Local mode] No service named {service_id} found running locally.")
        service = found[0]
    else:
        resp = ctx.client.request("GET", ctx.mms(f"/services/{quote(service_id)}"))
        if resp.status != 200:
            raise HttpError(f"Error occurred while attempting to score service {service_id}.", resp.status, resp.headers, resp.body)
        service = resp.json()
        if verb:
            ctx.out(f"Successfully got service to score against\nStatus Code: {resp.status}\nHeaders: {resp.headers}")
    headers = {"Content-Type": "application/json"}
    if mode == "cluster":
        headers["Authorization"] = "Bearer " + _keys(ctx, service_id)["primaryKey"]
        if verb:
            ctx.out("Successfully got keys for service")
    if not input_data:
        # The legacy CLI posted the shell-quoted sample string itself, which schema'd services reject
        # (quirk 12.14); we post the sample's JSON.
        ctx.out("No input data specified. Checking for sample data.")
        example = swagger_example(service.get("swaggerUri", ""))
        if example is None:
            raise CliError("No sample data found for this service: pass the input with -d.")
        ctx.out(f"Using sample data: {sample_argument(example)}")
        input_data = json.dumps(example)
    if verb:
        ctx.out(f"[Debug] Input data is {input_data}")
        ctx.out(f"[Debug] Input data type is {type(input_data)}")
    url = service.get("scoringUri", "")
    try:
        status, resp_headers, body = replica_request("POST", url, 20, input_data.encode(), headers)
    except OSError:
        if mode == "local":
            ctx.out("[Local mode] Error connecting to container. Please try recreating your local service.")
            return
        raise CliError("Unable to reach the requested host. If you just created this service, it may not be available "
                       "yet. Please try again in a few minutes.") from None
    if verb:
        ctx.out(f"Got result from scoring request at {url}.\nStatus Code: {status}\nHeaders: {resp_headers}\nContent: {body!r}")
    if status != 200:
        raise HttpError(f"Error occurred while attempting to score service {service_id}.", status, resp_headers, body)
    # The answer is printed as the service sent it (what curl shows). The legacy CLI printed the Python
    # repr of the decoded JSON, which for the legacy service's doubly encoded strings looked the same.
    ctx.out(body.decode(errors="replace").rstrip("\n"))


def keys(ctx: Context, service_id: str, key: str | None, regen: bool, verb: bool) -> None:
    if _mode(ctx) == "local":
        raise CliError("Key operations not supported for local services")
    if regen:
        if not key:
            raise CliError("Error, must specify which key with be regenerated: Primary, Secondary")
        key = key[:1].upper() + key[1:].lower()
        if key not in ("Primary", "Secondary"):
            raise CliError(f"Error, invalid value provided for key: {key}.\nValid options are: Primary, Secondary")
        result = ctx.client.call("POST", ctx.mms(f"/services/{quote(service_id)}/regenerateKeys"), {"keyType": key},
                                 error="Error occurred while regenerating keys for service.")
    else:
        result = _keys(ctx, service_id)
    if "primaryKey" not in result:
        raise CliError("Invalid response key: PrimaryKey")
    ctx.out(f"PrimaryKey: {result['primaryKey']}")
    ctx.out(f"SecondaryKey: {result['secondaryKey']}")


def usage(ctx: Context, service_id: str, verb: bool) -> None:
    mode = _mode(ctx)
    if mode == "local":
        found = [s for s in _list(ctx, mode) if s["name"] == service_id]
        service = found[0] if found else None
        if service is None:
            raise CliError(f"[Local mode] No service named {service_id} found running locally.")
    else:
        service = _get_service(ctx, service_id)
    assert service is not None
    if service.get("state") != "Succeeded" or not service.get("scoringUri"):
        raise CliError("Error, service deployment is not succeeded, please check the status of your service.")
    cluster = mode == "cluster"
    sample = _sample(ctx, service, False)
    auth = ' -H "Authorization:Bearer <key>"' if cluster else ""
    lines = ["Scoring URL:", f"    {service['scoringUri']}", "", "Headers:", "    Content-Type: application/json"]
    if cluster:
        lines += ["    Authorization: Bearer <key>",
                  f"        (<key> can be found by running 'az ml service keys realtime -i {service_id}')"]
    lines += ["", "Swagger URL:", f"    {service.get('swaggerUri')}", "", "Sample CLI command:",
              f"    az ml service run realtime -i {service_id} -d {sample}", "", "Sample CURL call:",
              f'    curl -X POST -H "Content-Type:application/json"{auth} --data {sample} {service["scoringUri"]}', "",
              "Get debug logs by calling:", f"    az ml service logs realtime -i {service_id}", "", ""]
    ctx.out("\n".join(lines))


def logs(ctx: Context, service_id: str | None, kubeconfig: str | None, max_lines: int, request_id: str | None,
         verb: bool) -> None:
    if not service_id:
        raise CliError("Service ID must be provided.")
    if kubeconfig:
        import os

        if not os.path.isfile(kubeconfig):
            raise CliError(f"Failed loading kubeconfig file: no such file {kubeconfig}. The local engine reads "
                           "replica logs directly; run the command without -k.")
    query = f"?maxLines={max_lines}" + (f"&requestId={quote(request_id)}" if request_id else "")
    result = ctx.client.call("GET", ctx.mms(f"/services/{quote(service_id)}/logs{query}"),
                             error=f"Error occurred while attempting to get logs for service {service_id}.")
    for line in result.get("lines", []):
        ctx.out(line)
    ctx.out(f"Received {len(result.get('lines', []))} lines of log")
