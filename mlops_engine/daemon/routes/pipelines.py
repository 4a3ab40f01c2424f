"""Published pipelines and schedules (engine additions, docs/batch.md): the management API behind the daemon
token, and the pipeline endpoint itself (`POST .../PipelineSubmit/{id}` with the pipeline's bearer key, served
by work/endpoints.py on a port of its own)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import cast

from ..errors import ApiError, bad_request
from ..jsonvalue import JSON
from ..server import Request, Response, Route, route
from ..store import pipelines as store
from ..store.batch_records import Pipeline, Recurrence, Schedule
from ..work import pipelines, recurrence, schedules
from ..work.batch_runtime import BatchRuntime
from .batch import _strings, _text, field, job_json

SUBMIT = "/pipelines/v1.0/PipelineRuns/PipelineSubmit/"


def endpoint_url(runtime: BatchRuntime, p: Pipeline) -> str:
    return f"http://127.0.0.1:{runtime.endpoint_port}{SUBMIT}{p.id}"


def pipeline_json(runtime: BatchRuntime, p: Pipeline) -> JSON:
    return {
        "id": p.id,
        "name": p.name,
        "webService": p.service,
        "description": p.description,
        "state": p.state,
        "endpoint": endpoint_url(runtime, p),
        "createdTime": p.created,
        "modifiedTime": p.modified,
    }


def schedule_json(s: Schedule) -> JSON:
    r = s.recurrence
    return {
        "id": s.id,
        "name": s.name,
        "pipelineId": s.pipeline_id,
        "experimentName": s.experiment,
        "recurrence": {"frequency": r.frequency, "interval": r.interval, "startTime": r.start_time},
        "state": s.state,
        "parameterAssignments": dict(s.assignments),
        "createdTime": s.created,
        "modifiedTime": s.modified,
        "nextRunTime": s.next_run,
        "lastRunTime": s.last_run,
        "lastJob": s.last_job,
        "lastOutcome": s.last_outcome,
    }


def _parse_schedule(body: Mapping[str, JSON]) -> schedules.ScheduleCreate:
    rec = field(body, "recurrence") or {}
    if not isinstance(rec, Mapping):
        raise bad_request('\'recurrence\' must be a JSON object: {"frequency", "interval", "startTime"?}.')
    frequency = _text(rec, "frequency", "recurrence")
    interval = field(rec, "interval")
    if not isinstance(interval, int) or isinstance(interval, bool):
        raise bad_request("recurrence: 'interval' must be a whole number.")
    run_now = field(body, "runNow") or False
    if not isinstance(run_now, bool):
        raise bad_request("'runNow' must be true or false.")
    assert frequency is not None
    return schedules.ScheduleCreate(
        name=_text(body, "name", "schedule") or "",
        pipeline=_text(body, "pipelineId", "schedule") or "",
        experiment=_text(body, "experimentName", "schedule") or "",
        recurrence=Recurrence(
            recurrence.parse_frequency(frequency),
            interval,
            _text(rec, "startTime", "recurrence", required=False),
        ),
        assignments=tuple(_strings(body, "parameterAssignments").items()),
        run_now=run_now,
    )


def _key_type(req: Request) -> str:
    value = req.json().get("keyType")
    if value not in ("Primary", "Secondary"):
        raise bad_request("keyType must be Primary or Secondary.")
    return cast(str, value)


def routes(runtime: BatchRuntime) -> list[Route]:
    engine, scheduler = runtime.engine, runtime.scheduler
    P = r"/v1/pipelines/(?P<id>[^/]+)"
    S = r"/v1/schedules/(?P<id>[^/]+)"

    def publish(req: Request) -> Response:
        body = req.json()
        p = pipelines.publish(
            engine,
            _text(body, "name", "pipeline") or "",
            _text(body, "webService", "pipeline") or "",
            _text(body, "description", "pipeline", required=False) or "",
        )
        return Response(201, pipeline_json(runtime, p))

    def list_pipelines(req: Request) -> Response:
        return Response(200, [pipeline_json(runtime, p) for p in store.all_pipelines(engine.db)])

    def show(req: Request) -> Response:
        return Response(200, pipeline_json(runtime, pipelines.get(engine, req.params["id"])))

    def switch(state: str) -> Route:
        def handler(req: Request) -> Response:
            changed = pipelines.set_state(
                engine, req.params["id"], "Active" if state == "enable" else "Disabled"
            )
            return Response(200, pipeline_json(runtime, changed))

        return route("POST", P + f"/{state}", handler)

    def delete(req: Request) -> Response:
        return Response(200, pipeline_json(runtime, pipelines.delete(engine, req.params["id"])))

    def keys(req: Request) -> Response:
        p = pipelines.get(engine, req.params["id"])
        return Response(200, {"primaryKey": p.primary_key, "secondaryKey": p.secondary_key})

    def regenerate(req: Request) -> Response:
        p = pipelines.regenerate(
            engine, req.params["id"], "Primary" if _key_type(req) == "Primary" else "Secondary"
        )
        return Response(200, {"primaryKey": p.primary_key, "secondaryKey": p.secondary_key})

    def create_schedule(req: Request) -> Response:
        return Response(201, schedule_json(scheduler.create(_parse_schedule(req.json()))))

    def list_schedules(req: Request) -> Response:
        return Response(200, [schedule_json(s) for s in store.all_schedules(engine.db)])

    def show_schedule(req: Request) -> Response:
        return Response(200, schedule_json(schedules.get(engine, req.params["id"])))

    def schedule_switch(state: str) -> Route:
        def handler(req: Request) -> Response:
            changed = scheduler.set_state(req.params["id"], "Active" if state == "enable" else "Disabled")
            return Response(200, schedule_json(changed))

        return route("POST", S + f"/{state}", handler)

    def delete_schedule(req: Request) -> Response:
        return Response(200, schedule_json(scheduler.delete(req.params["id"])))

    return [
        route("POST", r"/v1/pipelines", publish),
        route("GET", r"/v1/pipelines", list_pipelines),
        route("GET", P, show),
        switch("enable"),
        switch("disable"),
        route("DELETE", P, delete),
        route("GET", P + "/keys", keys),
        route("POST", P + "/regenerateKeys", regenerate),
        route("POST", r"/v1/schedules", create_schedule),
        route("GET", r"/v1/schedules", list_schedules),
        route("GET", S, show_schedule),
        schedule_switch("enable"),
        schedule_switch("disable"),
        route("DELETE", S, delete_schedule),
    ]


def _authorized(req: Request, p: Pipeline) -> bool:
    scheme, _, supplied = req.headers.get("Authorization", "").partition(" ")
    given = supplied.strip().encode()
    return scheme.lower() == "bearer" and any(
        hmac.compare_digest(given, key.encode()) for key in (p.primary_key, p.secondary_key)
    )


def endpoint_routes(runtime: BatchRuntime) -> list[Route]:
    """The published endpoint: Azure ML's PipelineSubmit POST, authenticated with the pipeline's key."""

    def submit(req: Request) -> Response:
        found = store.find_pipeline(runtime.engine.db, req.params["id"])
        if found is None or found.id != req.params["id"]:
            raise pipelines.pipeline_not_found(req.params["id"])
        if not _authorized(req, found):
            raise ApiError(
                401,
                "Unauthorized",
                "Missing or invalid key: send 'Authorization: Bearer <key>' with one "
                f"of the pipeline's keys (az ml pipeline keys --id {found.id}).",
            )
        job = pipelines.start(runtime.runner, found, pipelines.parse_run(req.json()))
        body = {
            "Id": job.name,
            "Status": str(job.state),
            "ExperimentName": job.experiment,
            "PipelineId": found.id,
            "WebServiceId": job.service,
            "Job": job_json(runtime, job),
        }
        return Response(200, body)

    return [route("POST", SUBMIT + r"(?P<id>[^/]+)", submit)]
