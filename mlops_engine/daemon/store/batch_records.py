"""Batch scoring's stored state as typed records (issue 9): batch services, their jobs, published pipelines and
schedules. Fields are the SQLite columns of schema 3 (migration_v3.py); routes/batch.py and routes/pipelines.py
turn them into JSON, work/ changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ...batch import JobState

Contract = Literal["legacy", "parallel"]
ParamKind = Literal["Reference", "Value"]
Direction = Literal["Input", "Output"]
AssetKind = Literal["python", "jar", "file"]
Trigger = Literal["cli", "endpoint", "schedule"]
Switch = Literal["Active", "Disabled"]
Frequency = Literal["Minute", "Hour", "Day", "Week", "Month"]
FREQUENCIES: tuple[Frequency, ...] = ("Minute", "Hour", "Day", "Week", "Month")


@dataclass(frozen=True)
class BatchParameter:
    """A declared service parameter (`--in`/`--out`/`--param <Id>[:<default>]`)."""

    id: str
    kind: ParamKind
    direction: Direction
    default: str | None = None


@dataclass(frozen=True)
class BatchAsset:
    """A dependency (`-d`): a file or folder named `id` in the service's app folder."""

    id: str
    uri: str  # artifact://sha256/... of its tar.gz
    kind: AssetKind  # python (.py, on the driver's path), jar, or any other file/folder


@dataclass(frozen=True)
class BatchService:
    """A batch web service: its driver (as `main.py`) and dependencies live in `app_dir`, one folder per version."""

    name: str
    title: str
    contract: Contract
    app_dir: str
    driver_name: str  # the file given with -f
    driver_uri: str
    assets: tuple[BatchAsset, ...]
    parameters: tuple[BatchParameter, ...]
    settings: Mapping[str, str]  # parallel-run settings from the service's config file (name -> value)
    dask_scheduler: str | None
    created: str
    modified: str


@dataclass(frozen=True)
class JobCounts:
    """Progress of a job as last reported by the batch engine."""

    batches_total: int = 0
    batches_done: int = 0
    batches_failed: int = 0
    items_total: int = 0
    items_done: int = 0
    items_failed: int = 0


@dataclass(frozen=True)
class JobRow:
    """A job of a batch service; `job_dir` holds the batch engine's state.json and logs."""

    service: str
    name: str
    contract: Contract
    state: JobState
    trigger: Trigger
    values: tuple[tuple[str, str], ...]  # the parameter values given at submission, in their order
    executor: str | None  # the Dask scheduler address; None = local worker processes
    job_dir: str
    created: str
    modified: str
    experiment: str | None = None
    pipeline_id: str | None = None
    schedule_id: str | None = None
    started: str | None = None
    ended: str | None = None
    counts: JobCounts = field(default_factory=JobCounts)
    output_path: str | None = None
    partial: bool = False
    log_path: str | None = None
    first_error: str = ""
    message: str = ""


@dataclass(frozen=True)
class Pipeline:
    """A published batch service: a REST endpoint (bearer keys) that starts a job from a POST."""

    id: str
    name: str
    service: str
    description: str
    state: Switch
    primary_key: str
    secondary_key: str
    created: str
    modified: str


@dataclass(frozen=True)
class Recurrence:
    frequency: Frequency
    interval: int
    start_time: str | None  # ISO-8601 UTC; None: the first run is one interval after creation


@dataclass(frozen=True)
class Schedule:
    """Runs a published pipeline on a recurrence; at most one job of a schedule runs at a time."""

    id: str
    name: str
    pipeline_id: str
    experiment: str
    recurrence: Recurrence
    state: Switch
    assignments: tuple[tuple[str, str], ...]
    created: str
    modified: str
    next_run: str | None = None
    last_run: str | None = None
    last_job: str | None = None
    last_outcome: str = ""
