"""`az ml service run|showjob|listjobs|canceljob batch` (legacy batch reference §3.2, 3.6-3.8), on the engine.

Fixed against the genuine code (docs/compatibility.md): the default job name is the documented
`%Y-%m-%d_%H%M%S` (B7: the code used `%Y%m%d%H%M%S`), an Id given twice is an error (B16: the last one silently
won), `-w` prints progress (mini-batches done/total, rows/s) and exits 1 when the job did not succeed, and
`showjob` adds what the engine knows: progress, the output file (marked when partial) and the first error.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any, Final

from mlops_engine.cli.commands.batch_common import (
    BatchFailure,
    body_text,
    environment,
    failure,
    local_reference,
    pascal,
    psql,
    request,
    require_env,
    say,
    ws_path,
)
from mlops_engine.cli.context import Context
from mlops_engine.cli.printed import Printed

JOB_NAME_FORMAT: Final = "%Y-%m-%d_%H%M%S"  # the genuine help's (B7)
ACTIVE: Final = ("NotStarted", "InProgress")


def _interval() -> float:
    return float(os.environ.get("MLOPS_BATCH_POLL_INTERVAL", "2"))


def _values(
    inputs: list[str] | None, outputs: list[str] | None, parameters: list[str] | None
) -> dict[str, str]:
    """`<Id>:<value>` items (--param first, then --in, --out, as the genuine CLI sent them)."""
    items = [(i, "param") for i in parameters or []] + [(i, "in") for i in inputs or []]
    items += [(i, "out") for i in outputs or []]
    missing = [i for i, _ in items if ":" not in i]
    if missing:
        raise BatchFailure("\n".join(f"Must provide value for service parameter {i}" for i in missing))
    values: dict[str, str] = {}
    for item, flag in items:
        pid, _, value = item.partition(":")
        if pid in values:
            raise BatchFailure(
                f"Unable to process parameters: {pid} is given twice; give each parameter once"
            )
        if flag != "param":
            try:
                value = local_reference(value, flag == "out")
            except ValueError as exc:
                raise BatchFailure(f"Unable to process parameters: {exc}") from None
        values[pid] = value
    return values


def describe(job: dict[str, Any]) -> str:
    """showjob's lines: the genuine four (Name, JobId, Logs available at, State), then the engine's."""
    lines = [f"Name: {job.get('webServiceId')}", f"JobId: {job.get('jobId')}"]
    if job.get("driverLogFile"):
        lines.append(f"Logs available at: {job['driverLogFile']}")
    lines.append(f"State: {job.get('state')}")
    progress = job.get("progress") or {}
    if progress.get("batchesTotal"):
        failed = f" ({progress['batchesFailed']} failed)" if progress.get("batchesFailed") else ""
        lines.append(
            f"Progress: mini-batches {progress['batchesDone']}/{progress['batchesTotal']}{failed}, "
            f"rows {progress['itemsDone']:,} done, {progress['itemsFailed']:,} failed"
        )
    if job.get("outputPath"):
        lines.append(f"Output{' (partial)' if job.get('partial') else ''}: {job['outputPath']}")
    if job.get("state") == "Failed" and job.get("message"):
        lines.append(f"Reason: {job['message']}")
    if job.get("state") == "Failed" and job.get("firstError"):
        lines.append("First error:")
        lines.extend("    " + line for line in str(job["firstError"]).splitlines())
    return "\n".join(lines) + "\n"


def _status_line(job: dict[str, Any]) -> str:
    progress = job.get("progress") or {}
    if job.get("state") == "InProgress" and progress.get("batchesTotal"):
        failed = f" ({progress['batchesFailed']} failed)" if progress.get("batchesFailed") else ""
        return (
            f"InProgress: mini-batches {progress['batchesDone']}/{progress['batchesTotal']}{failed}, "
            f"{progress.get('itemsPerSecond', 0):,.0f} rows/s"
        )
    return str(job.get("state"))


def _get_job(ctx: Context, service: str, job: str, verb: bool) -> dict[str, Any]:
    path = ws_path(service, "jobs", job)
    if verb:
        say(ctx, f"Getting resource at {ctx.client.base_url}{path}")
    resp = request(ctx, "GET", path)
    if verb:
        say(ctx, body_text(resp))
    found: dict[str, Any] = resp.json()
    return found


def _submit(ctx: Context, service: str, job: str | None, body: dict[str, Any], verb: bool) -> dict[str, Any]:
    """PUT the job; a default name taken in the same second gets `_2`, `_3`... (an explicit -j never does)."""
    name = job or datetime.now().strftime(JOB_NAME_FORMAT)
    for attempt in range(1, 100):
        candidate = name if job or attempt == 1 else f"{name}_{attempt}"
        path = ws_path(service, "jobs", candidate)
        if verb:
            say(ctx, f"scoring at {ctx.client.base_url}{path}")
        resp = ctx.client.request("PUT", path, body)
        if resp.status == 409 and not job:
            continue
        if resp.status not in (200, 201):
            raise failure(resp)
        if verb:
            say(ctx, body_text(resp))
        created: dict[str, Any] = resp.json()
        return created
    raise BatchFailure(f"Could not find a free default job name after {name}_99; give one with -j")


def run(
    ctx: Context,
    service_name: str,
    inputs: list[str] | None,
    outputs: list[str] | None,
    parameters: list[str] | None,
    job_name: str | None,
    verb: bool,
    wait: bool,
    dask_scheduler: str | None,
) -> Printed:
    values = _values(inputs, outputs, parameters)
    require_env(ctx)
    if verb:
        say(ctx, f"parameters: {values}")
    body: dict[str, Any] = {"parameters": values}
    if dask_scheduler:
        body["daskScheduler"] = dask_scheduler
    job = _submit(ctx, service_name, job_name, body, verb)
    name = job["jobId"]
    submitted = f"Job {name} submitted on service {service_name}."
    if not wait:
        text = f"{submitted}\nTo check job status, run: az ml service showjob batch -n {service_name} -j {name}\n"
        return Printed(pascal(job), text)
    say(ctx, submitted)
    last = None
    while True:
        job = _get_job(ctx, service_name, name, verb)
        line = _status_line(job)
        if line != last or verb:
            say(ctx, line)
            last = line
        if job.get("state") not in ACTIVE:
            break
        time.sleep(_interval())
    if job.get("state") != "Succeeded":
        if ctx.plain:
            say(ctx, describe(job).rstrip("\n"))
        raise BatchFailure(f"Job {name} of service {service_name} ended {job.get('state')}.")
    return Printed(pascal(job), describe(job))


def showjob(ctx: Context, service_name: str, job_name: str, verb: bool) -> Printed:
    require_env(ctx)
    job = _get_job(ctx, service_name, job_name, verb)
    return Printed(pascal(job), describe(job))


def listjobs(ctx: Context, service_name: str) -> Printed:
    require_env(ctx)
    jobs = request(ctx, "GET", ws_path(service_name, "jobs")).json()
    env = environment(ctx)
    rows = [[j.get("name"), j.get("modificationTimeUtc"), env] for j in jobs]
    return Printed(pascal(jobs), psql(["NAME", "LAST_MODIFIED_AT", "ENVIRONMENT"], rows) + "\n")


def canceljob(ctx: Context, service_name: str, job_name: str, verb: bool) -> Printed:
    require_env(ctx)
    path = ws_path(service_name, "jobs", job_name, "cancel")
    if verb:
        say(ctx, f"Canceling job by posting to {ctx.client.base_url}{path}")
    resp = request(ctx, "POST", path)
    if verb:
        say(ctx, body_text(resp))
    return Printed(pascal(resp.json()), f"Job {job_name} of service {service_name} canceled.\n")
