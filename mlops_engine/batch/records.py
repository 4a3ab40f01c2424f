"""Typed records shared by the engine, the executors and the job API (and, later, the daemon)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeStatus = Literal["ok", "error", "timeout", "crash", "init_failed", "cancelled"]


class JobState(enum.StrEnum):
    """The legacy batch service's spellings (``NotStarted``/``InProgress`` keep a client polling)."""

    NOT_STARTED = "NotStarted"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (JobState.NOT_STARTED, JobState.IN_PROGRESS)


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt at one mini-batch."""

    index: int
    status: OutcomeStatus
    items: int = 0
    returned: int = 0
    payload: bytes = b""
    header: bytes = b""
    error: str = ""
    worker: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Progress:
    """A snapshot for ``-w`` and ``showjob``: mini-batches done / total and throughput."""

    state: JobState
    batches_done: int
    batches_total: int
    batches_failed: int
    items_done: int
    items_failed: int
    items_total: int
    elapsed_s: float
    items_per_s: float

    def line(self) -> str:
        return (
            f"{self.state}: mini-batches {self.batches_done}/{self.batches_total}"
            + (f" ({self.batches_failed} failed)" if self.batches_failed else "")
            + f", {self.items_per_s:,.0f} rows/s"
        )


@dataclass(frozen=True)
class JobResult:
    """The end of a job: state, counts, the output file and the first traceback (what showjob prints)."""

    job_id: str
    state: JobState
    output_path: str | None
    partial: bool
    items_total: int
    items_done: int
    items_failed: int
    batches_total: int
    batches_failed: int
    first_error: str
    message: str
    elapsed_s: float


@dataclass(frozen=True)
class JobRecord:
    """Everything needed to show, resume or fail a job after a daemon restart (state.json, or a DB row)."""

    job_id: str
    kind: Literal["parallel", "legacy"]
    state: JobState
    spec: dict[str, Any]
    created: str
    started: str | None = None
    ended: str | None = None
    plan_fingerprint: str = ""
    batches_total: int = 0
    batches_flushed: int = 0  # contiguous prefix of mini-batches whose output is durably in the partial file
    bytes_flushed: int = 0
    items_done: int = 0
    items_failed: int = 0
    batches_failed: int = 0
    failed_batches: tuple[int, ...] = field(default_factory=tuple)
    first_error: str = ""
    message: str = ""
    output_path: str | None = None
    log_path: str = ""

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["state"] = str(self.state)
        out["failed_batches"] = list(self.failed_batches)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        values = dict(data)
        values["state"] = JobState(values["state"])
        values["failed_batches"] = tuple(values.get("failed_batches", ()))
        return cls(**values)
