"""Batch web services and their jobs: the legacy SparkBatch REST API (legacy batch reference §2) on the daemon.

Paths and JSON are the legacy service's (`/v1/webservices/{name}[/jobs/{job}[/cancel]]`, camelCase answers;
request keys are accepted camelCase or PascalCase, as the legacy CLI sent them), behind the daemon token. Engine
additions are extra fields: `contract`, `driverName`, `parallelRunSettings`, `daskScheduler` on a service;
`trigger`, `executor`, `progress`, `outputPath`, `partial`, `message`, `firstError`... on a job. Errors are the
daemon's one error body (`{"code", "statusCode", "message"}`), with the legacy service's messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast
from urllib.parse import unquote

from ..errors import bad_request
from ..jsonvalue import JSON, JSONObject
from ..server import Request, Response, Route, route
from ..store import batch_jobs, batch_services
from ..store.batch_records import AssetKind, BatchAsset, BatchParameter, BatchService, Contract, JobRow
from ..work import batch_services as services
from ..work.batch_jobs import JobSubmit, job_not_found
from ..work.batch_runtime import BatchRuntime
from ..work.batch_specs import DRIVER
from ..work.recurrence import parse_time

WS = r"/v1/webservices/(?P<name>[^/]+)"
JOB = WS + r"/jobs/(?P<job>[^/]+)"
_KINDS: dict[str, AssetKind] = {"pythonAssets": "python", "jarAssets": "jar", "fileAssets": "file"}


def field(body: JSONObject, key: str) -> JSON:
    """A request field, camelCase or PascalCase (the legacy client PascalCased what it sent)."""
    return body[key] if key in body else body.get(key[:1].upper() + key[1:])


def _text(body: JSONObject, key: str, what: str, required: bool = True) -> str | None:
    value = field(body, key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise bad_request(f"{what}: '{key}' must be a non-empty string.")
    return value


def _objects(body: JSONObject, key: str) -> list[JSONObject]:
    value = field(body, key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise bad_request(f"'{key}' must be a list of JSON objects.")
    return [cast(JSONObject, v) for v in value]


def _strings(body: JSONObject, key: str) -> dict[str, str]:
    value = field(body, key) or {}
    if not isinstance(value, Mapping) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise bad_request(f"'{key}' must be a JSON object of names to strings.")
    return {str(k): str(v) for k, v in value.items()}


def _parameter(raw: JSONObject) -> BatchParameter:
    pid = _text(raw, "id", "parameter")
    kind, direction, value = field(raw, "kind"), field(raw, "direction"), field(raw, "value")
    if kind not in ("Reference", "Value") or direction not in ("Input", "Output"):
        raise bad_request(
            f"Parameter '{pid}': kind must be Reference or Value and direction Input or Output."
        )
    if kind == "Value" and direction == "Output":
        raise bad_request(f"Parameter '{pid}': a Value parameter is an input.")
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Parameter '{pid}': 'value' must be a string.")
    assert pid is not None
    return BatchParameter(pid, kind, direction, value)


def parse_service(name: str, body: JSONObject) -> services.ServiceCreate:
    package = field(body, "package") or {}
    if not isinstance(package, Mapping):
        raise bad_request("'package' must be a JSON object.")
    driver_id = (
        _text(package, "driverProgramAsset", "package") if field(package, "driverProgramAsset") else DRIVER
    )
    kinds: dict[str, AssetKind] = {}
    for key, kind in _KINDS.items():
        value = field(package, key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"'package.{key}' must be a list of asset ids.")
        kinds.update((str(v), kind) for v in value)
    driver_uri, assets = None, []
    for raw in _objects(body, "assets"):
        aid, uri = _text(raw, "id", "asset"), _text(raw, "uri", "asset")
        assert aid is not None and uri is not None
        if aid == driver_id:
            driver_uri = uri
        elif aid in kinds:
            assets.append(BatchAsset(aid, uri, kinds[aid]))
        else:
            raise bad_request(f"Asset '{aid}' is neither the driver nor listed in the package's assets.")
    if driver_uri is None:
        raise bad_request(f"The driver asset '{driver_id}' is missing from 'assets'.")
    contract = field(body, "contract") or "legacy"
    if contract not in ("legacy", "parallel"):
        raise bad_request(f"Invalid contract '{contract}': use legacy or parallel.")
    return services.ServiceCreate(
        name=name,
        title=_text(body, "title", "service", required=False) or name,
        contract=cast(Contract, contract),
        driver_name=_text(body, "driverName", "service", required=False) or DRIVER,
        driver_uri=driver_uri,
        assets=tuple(assets),
        parameters=tuple(_parameter(p) for p in _objects(body, "parameters")),
        settings=_strings(body, "parallelRunSettings"),
        dask_scheduler=_text(body, "daskScheduler", "service", required=False),
    )


def service_json(s: BatchService) -> JSON:
    groups: dict[str, list[JSON]] = {"jarAssets": [], "pythonAssets": [], "fileAssets": []}
    for a in s.assets:
        groups[{"python": "pythonAssets", "jar": "jarAssets", "file": "fileAssets"}[a.kind]].append(a.id)
    params: list[JSON] = []
    for p in s.parameters:
        item: dict[str, JSON] = {
            "id": p.id,
            "isRuntime": True,
            "isOptional": False,
            "kind": p.kind,
            "direction": p.direction,
        }
        if p.default is not None:
            item["value"] = p.default
        params.append(item)
    return {
        "title": s.title,
        "assets": [{"id": DRIVER, "uri": s.driver_uri}, *({"id": a.id, "uri": a.uri} for a in s.assets)],
        "parameters": params,
        "packageType": "Python",
        "package": {"driverProgramAsset": DRIVER, **groups},
        "id": s.name,
        "name": s.name,
        "creationTimeUtc": s.created,
        "modificationTimeUtc": s.modified,
        "contract": s.contract,
        "driverName": s.driver_name,
        "parallelRunSettings": dict(s.settings),
        "daskScheduler": s.dask_scheduler,
    }


def job_json(runtime: BatchRuntime, j: JobRow) -> JSON:
    out: dict[str, JSON] = {
        "webServiceId": j.service,
        "jobId": j.name,
        "name": j.name,
        "state": str(j.state),
        "parameters": dict(j.values),
        "creationTimeUtc": j.created,
        "modificationTimeUtc": j.modified,
    }
    if j.started and j.log_path:  # once it has started (a job cancelled in the queue has no logs)
        out["driverLogFile"] = Path(j.log_path).as_uri()
    out.update({"contract": j.contract, "trigger": j.trigger, "executor": j.executor or "local"})
    for key, value in (
        ("experimentName", j.experiment),
        ("pipelineId", j.pipeline_id),
        ("scheduleId", j.schedule_id),
        ("startTimeUtc", j.started),
        ("endTimeUtc", j.ended),
    ):
        if value:
            out[key] = value
    if j.contract == "parallel":
        live = runtime.runner.progress(j.service, j.name)
        c = j.counts
        rate = live.items_per_s if live is not None else _rate(j)
        out["progress"] = {
            "batchesDone": live.batches_done if live else c.batches_done,
            "batchesTotal": live.batches_total if live else c.batches_total,
            "batchesFailed": live.batches_failed if live else c.batches_failed,
            "itemsDone": live.items_done if live else c.items_done,
            "itemsFailed": live.items_failed if live else c.items_failed,
            "itemsTotal": live.items_total if live else c.items_total,
            "itemsPerSecond": round(rate, 1),
        }
    if j.output_path:
        out["outputPath"] = j.output_path
        out["partial"] = j.partial
    out["message"] = j.message
    out["firstError"] = j.first_error
    return out


def _rate(j: JobRow) -> float:
    if not (j.started and j.ended):
        return 0.0
    seconds = (parse_time(j.ended) - parse_time(j.started)).total_seconds()
    return j.counts.items_done / seconds if seconds > 0 else 0.0


def _service(runtime: BatchRuntime, req: Request) -> BatchService:
    name = unquote(req.params["name"])
    found = batch_services.get(runtime.engine.db, name)
    if found is None:
        raise services.not_found(name)
    return found


def routes(runtime: BatchRuntime) -> list[Route]:
    engine = runtime.engine

    def health(req: Request) -> Response:
        return Response(200, {"status": "Healthy"})

    def list_services(req: Request) -> Response:
        return Response(200, [service_json(s) for s in batch_services.all_services(engine.db)])

    def put_service(req: Request) -> Response:
        service, created = services.create_or_replace(
            engine, parse_service(unquote(req.params["name"]), req.json())
        )
        return Response(201 if created else 200, service_json(service))

    def get_service(req: Request) -> Response:
        return Response(200, service_json(_service(runtime, req)))

    def delete_service(req: Request) -> Response:
        service = services.check_deletable(engine, unquote(req.params["name"]))
        runtime.runner.cancel_all(service.name)
        services.remove(engine, service.name)
        return Response(200, None)

    def list_jobs(req: Request) -> Response:
        service = _service(runtime, req)
        return Response(200, [job_json(runtime, j) for j in batch_jobs.of_service(engine.db, service.name)])

    def put_job(req: Request) -> Response:
        body = req.json() if req.length else {}
        request = JobSubmit(
            unquote(req.params["name"]),
            unquote(req.params["job"]),
            tuple(_strings(body, "parameters").items()),
            _text(body, "daskScheduler", "job", required=False),
        )
        return Response(200, job_json(runtime, runtime.runner.submit(request)))

    def get_job(req: Request) -> Response:
        service, name = _service(runtime, req), unquote(req.params["job"])
        job = batch_jobs.get(engine.db, service.name, name)
        if job is None:
            raise job_not_found(service.name, name)
        return Response(200, job_json(runtime, job))

    def cancel_job(req: Request) -> Response:
        job = runtime.runner.cancel(unquote(req.params["name"]), unquote(req.params["job"]))
        return Response(200, job_json(runtime, job))

    return [
        route("GET", r"/v1/health", health),
        route("GET", r"/v1/webservices", list_services),
        route("PUT", WS, put_service),
        route("GET", WS, get_service),
        route("DELETE", WS, delete_service),
        route("GET", WS + r"/jobs", list_jobs),
        route("PUT", JOB, put_job),
        route("GET", JOB, get_job),
        route("POST", JOB + r"/cancel", cancel_job),
    ]
