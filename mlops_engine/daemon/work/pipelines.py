"""Published pipelines (a batch service behind a REST endpoint with bearer keys) and the jobs their POSTs start.

The endpoint's body is Azure ML's: `ExperimentName` (required), `ParameterAssignments` (parameter Id -> value;
each really overrides the service's default, and a name the service does not declare is a 400, never silently
ignored), `Description` and `Tags` (kept nowhere). The job is named `<experiment>_<UTC time>_<6 hex>`.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Literal

from ..engine import Engine
from ..errors import ApiError, bad_request, conflict
from ..ids import arm_time
from ..store import batch_services, pipelines
from ..store.batch_records import JobRow, Pipeline, Switch, Trigger
from .batch_jobs import JobRunner, JobSubmit
from .batch_services import check_name, not_found

EXPERIMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,35}$")


@dataclass(frozen=True)
class PipelineRun:
    """A parsed POST to a published pipeline's endpoint (or what a schedule sends)."""

    experiment: str
    assignments: tuple[tuple[str, str], ...] = ()


def pipeline_not_found(id_or_name: str) -> ApiError:
    return ApiError(404, "NotFound", f"Published pipeline '{id_or_name}' not found.")


def check_experiment(name: str) -> None:
    if not EXPERIMENT.match(name):
        raise bad_request(
            f"Invalid ExperimentName '{name}': use 1-36 letters, digits, '_' or '-', starting with a letter or digit."
        )


def publish(engine: Engine, name: str, service: str, description: str) -> Pipeline:
    check_name(name, "pipeline")
    if batch_services.get(engine.db, service) is None:
        raise not_found(service)
    if pipelines.find_pipeline(engine.db, name) is not None:
        raise conflict(f"A published pipeline named '{name}' already exists; choose another name.")
    now = arm_time()
    pipeline = Pipeline(
        str(uuid.uuid4()),
        name,
        service,
        description,
        "Active",
        secrets.token_hex(16),
        secrets.token_hex(16),
        now,
        now,
    )
    with engine.db.tx() as conn:
        pipelines.save_pipeline(conn, pipeline)
    return pipeline


def get(engine: Engine, id_or_name: str) -> Pipeline:
    found = pipelines.find_pipeline(engine.db, id_or_name)
    if found is None:
        raise pipeline_not_found(id_or_name)
    return found


def set_state(engine: Engine, id_or_name: str, state: Switch) -> Pipeline:
    changed = replace(get(engine, id_or_name), state=state, modified=arm_time())
    with engine.db.tx() as conn:
        pipelines.save_pipeline(conn, changed)
    return changed


def regenerate(engine: Engine, id_or_name: str, which: Literal["Primary", "Secondary"]) -> Pipeline:
    current = get(engine, id_or_name)
    key = secrets.token_hex(16)
    changed = replace(current, primary_key=key) if which == "Primary" else replace(current, secondary_key=key)
    with engine.db.tx() as conn:
        pipelines.save_pipeline(conn, replace(changed, modified=arm_time()))
    return changed


def delete(engine: Engine, id_or_name: str) -> Pipeline:
    pipeline = get(engine, id_or_name)
    used = pipelines.all_schedules(engine.db, pipeline.id)
    if used:
        names = ", ".join(s.name for s in used)
        raise conflict(f"Pipeline '{pipeline.name}' is used by schedule {names}; delete the schedules first.")
    with engine.db.tx() as conn:
        pipelines.delete_pipeline(conn, pipeline.id)
    return pipeline


def parse_run(body: Mapping[str, object]) -> PipelineRun:
    """Azure ML's PipelineSubmit body; what the local engine cannot honour is refused, not ignored."""
    experiment = body.get("ExperimentName")
    if not isinstance(experiment, str) or not experiment:
        raise bad_request('ExperimentName is required: POST {"ExperimentName": "<name>", ...}.')
    check_experiment(experiment)
    raw = body.get("ParameterAssignments") or {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in raw.values()
    ):
        raise bad_request(
            "ParameterAssignments must be a JSON object of parameter names to strings or numbers."
        )
    for unsupported in ("DataSetDefinitionValueAssignments", "DataPathAssignments"):
        if body.get(unsupported):
            raise bad_request(
                f"{unsupported} is not supported by the local engine: give input and output paths "
                "as ParameterAssignments of the service's --in/--out parameters."
            )
    return PipelineRun(experiment, tuple((str(k), str(v)) for k, v in raw.items()))


def start(
    runner: JobRunner,
    pipeline: Pipeline,
    run: PipelineRun,
    trigger: Trigger = "endpoint",
    schedule_id: str | None = None,
) -> JobRow:
    """Start a job of the pipeline's service with the run's parameter values."""
    if pipeline.state != "Active":
        raise conflict(
            f"Pipeline '{pipeline.name}' is disabled; enable it with az ml pipeline enable --id {pipeline.id}."
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    name = f"{run.experiment}_{stamp}_{secrets.token_hex(3)}"
    return runner.submit(
        JobSubmit(
            pipeline.service, name, run.assignments, None, trigger, run.experiment, pipeline.id, schedule_id
        )
    )
