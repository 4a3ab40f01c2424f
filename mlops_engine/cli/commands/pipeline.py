"""`az ml pipeline ...`: published pipelines and their schedules (engine additions, docs/batch.md).

Publishing a batch service gives a REST endpoint on 127.0.0.1 that starts a job from Azure ML's PipelineSubmit
POST (`ExperimentName`, `ParameterAssignments`), authenticated with the pipeline's keys (`pipeline keys`).
Schedules run a published pipeline every `--interval` `--frequency` (Minute, Hour, Day, Week, Month) from
`--start-time`, never at creation unless `--run-now`, never two jobs at once. Results are JSON like the other
`az ml` commands (`-o table` for lists).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mlops_engine.cli.commands.batch_common import pascal
from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError


def _call(ctx: Context, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
    resp = ctx.client.request(method, path, body)
    if resp.status not in ok:
        try:
            message = resp.json().get("message") or resp.body.decode(errors="replace")
        except ValueError:
            message = resp.body.decode(errors="replace")
        raise CliError(message, **{"Response Code": resp.status})
    return resp.json()


def _p(id_or_name: str, *rest: str) -> str:
    return "/v1/pipelines/" + "/".join(quote(p, safe="") for p in (id_or_name, *rest))


def _s(id_or_name: str, *rest: str) -> str:
    return "/v1/schedules/" + "/".join(quote(p, safe="") for p in (id_or_name, *rest))


def _pipeline_rows(result: Any) -> Any:
    rows = result if isinstance(result, list) else [result]
    return [
        {
            "Name": r["Name"],
            "Id": r["Id"],
            "WebService": r["WebService"],
            "State": r["State"],
            "Endpoint": r["Endpoint"],
        }
        for r in rows
    ]


def _schedule_rows(result: Any) -> Any:
    rows = result if isinstance(result, list) else [result]
    return [
        {
            "Name": r["Name"],
            "Id": r["Id"],
            "State": r["State"],
            "Every": f"{r['Recurrence']['Interval']} {r['Recurrence']['Frequency']}",
            "NextRunTime": r["NextRunTime"],
            "LastOutcome": r["LastOutcome"],
        }
        for r in rows
    ]


def publish(ctx: Context, name: str, service_name: str, description: str) -> Any:
    body = {"name": name, "webService": service_name, "description": description}
    return pascal(_call(ctx, "POST", "/v1/pipelines", body)), _pipeline_rows


def list_(ctx: Context) -> Any:
    return pascal(_call(ctx, "GET", "/v1/pipelines")), _pipeline_rows


def show(ctx: Context, pipeline: str) -> Any:
    return pascal(_call(ctx, "GET", _p(pipeline))), _pipeline_rows


def keys(ctx: Context, pipeline: str, regen: str | None) -> Any:
    if regen is None:
        return pascal(_call(ctx, "GET", _p(pipeline, "keys")))
    which = regen[:1].upper() + regen[1:].lower()
    if which not in ("Primary", "Secondary"):
        raise CliError(f"--regen must be Primary or Secondary, not {regen!r}")
    return pascal(_call(ctx, "POST", _p(pipeline, "regenerateKeys"), {"keyType": which}))


def enable(ctx: Context, pipeline: str) -> Any:
    return pascal(_call(ctx, "POST", _p(pipeline, "enable"))), _pipeline_rows


def disable(ctx: Context, pipeline: str) -> Any:
    return pascal(_call(ctx, "POST", _p(pipeline, "disable"))), _pipeline_rows


def delete(ctx: Context, pipeline: str) -> Any:
    return pascal(_call(ctx, "DELETE", _p(pipeline))), _pipeline_rows


def create_schedule(
    ctx: Context,
    name: str,
    pipeline: str,
    experiment: str,
    frequency: str,
    interval: int,
    start_time: str | None,
    parameters: list[str] | None,
    run_now: bool,
) -> Any:
    assignments: dict[str, str] = {}
    for item in parameters or []:
        pid, sep, value = item.partition(":")
        if not sep or not pid:
            raise CliError(f"--param {item!r}: write <Id>:<value>")
        if pid in assignments:
            raise CliError(f"--param {pid} is given twice; give each parameter once")
        assignments[pid] = value
    body = {
        "name": name,
        "pipelineId": pipeline,
        "experimentName": experiment,
        "runNow": run_now,
        "recurrence": {"frequency": frequency, "interval": interval, "startTime": start_time},
        "parameterAssignments": assignments,
    }
    return pascal(_call(ctx, "POST", "/v1/schedules", body)), _schedule_rows


def list_schedules(ctx: Context) -> Any:
    return pascal(_call(ctx, "GET", "/v1/schedules")), _schedule_rows


def show_schedule(ctx: Context, schedule: str) -> Any:
    return pascal(_call(ctx, "GET", _s(schedule))), _schedule_rows


def enable_schedule(ctx: Context, schedule: str) -> Any:
    return pascal(_call(ctx, "POST", _s(schedule, "enable"))), _schedule_rows


def disable_schedule(ctx: Context, schedule: str) -> Any:
    return pascal(_call(ctx, "POST", _s(schedule, "disable"))), _schedule_rows


def delete_schedule(ctx: Context, schedule: str) -> Any:
    return pascal(_call(ctx, "DELETE", _s(schedule))), _schedule_rows
