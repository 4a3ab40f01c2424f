"""Jobs of batch services in state.db: one row per (service, job name), listed in submission order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Final, cast

from ...batch import JobState
from .batch_records import Contract, JobCounts, JobRow, Trigger
from .database import Database, Params, Row

_COLUMNS: Final = (
    "service, name, contract, state, trigger, job_values, executor, job_dir, created, modified, experiment, pipeline_id, "
    "schedule_id, started, ended, batches_total, batches_done, batches_failed, items_total, items_done, "
    "items_failed, output_path, partial, log_path, first_error, message"
)
_NAMES: Final = [c.strip() for c in _COLUMNS.split(",")]
_S = str | None
_Row = tuple[
    str,
    str,
    str,
    str,
    str,
    str,
    _S,
    str,
    str,
    str,
    _S,
    _S,
    _S,
    _S,
    _S,
    int,
    int,
    int,
    int,
    int,
    int,
    _S,
    int,
    _S,
    str,
    str,
]
ACTIVE: Final = ("NotStarted", "InProgress")


def _job(row: Row) -> JobRow:
    (
        service,
        name,
        contract,
        state,
        trigger,
        values,
        executor,
        job_dir,
        created,
        modified,
        experiment,
        pipeline_id,
        schedule_id,
        started,
        ended,
        b_total,
        b_done,
        b_failed,
        i_total,
        i_done,
        i_failed,
        output,
        partial,
        log_path,
        first_error,
        message,
    ) = cast(_Row, row)
    pairs = tuple((str(k), str(v)) for k, v in json.loads(values))
    counts = JobCounts(b_total, b_done, b_failed, i_total, i_done, i_failed)
    return JobRow(
        service,
        name,
        cast(Contract, contract),
        JobState(state),
        cast(Trigger, trigger),
        pairs,
        executor,
        job_dir,
        created,
        modified,
        experiment,
        pipeline_id,
        schedule_id,
        started,
        ended,
        counts,
        output,
        bool(partial),
        log_path,
        first_error,
        message,
    )


def _values(j: JobRow) -> tuple[object, ...]:
    c = j.counts
    return (
        j.service,
        j.name,
        j.contract,
        str(j.state),
        j.trigger,
        json.dumps([list(v) for v in j.values]),
        j.executor,
        j.job_dir,
        j.created,
        j.modified,
        j.experiment,
        j.pipeline_id,
        j.schedule_id,
        j.started,
        j.ended,
        c.batches_total,
        c.batches_done,
        c.batches_failed,
        c.items_total,
        c.items_done,
        c.items_failed,
        j.output_path,
        int(j.partial),
        j.log_path,
        j.first_error,
        j.message,
    )


def insert(conn: sqlite3.Connection, job: JobRow) -> None:
    marks = ", ".join("?" * len(_NAMES))
    conn.execute(f"INSERT INTO batch_jobs ({_COLUMNS}) VALUES ({marks})", _values(job))


def modify(db: Database, service: str, name: str, change: Callable[[JobRow], JobRow]) -> JobRow | None:
    """Apply `change` to the stored job in one transaction; None if it is gone (its service was deleted)."""
    with db.tx() as conn:
        current = get(db, service, name)
        if current is None:
            return None
        changed = change(current)
        assignments = ", ".join(f"{n} = ?" for n in _NAMES[2:])
        conn.execute(
            f"UPDATE batch_jobs SET {assignments} WHERE service = ? AND name = ?",
            (*_values(changed)[2:], service, name),
        )
        return changed


def delete_of_service(conn: sqlite3.Connection, service: str) -> None:
    conn.execute("DELETE FROM batch_jobs WHERE service = ?", (service,))


def get(db: Database, service: str, name: str) -> JobRow | None:
    row = db.one(f"SELECT {_COLUMNS} FROM batch_jobs WHERE service = ? AND name = ?", (service, name))
    return _job(row) if row else None


def of_service(db: Database, service: str) -> list[JobRow]:
    return _select(db, "service = ?", (service,))


def active(db: Database) -> list[JobRow]:
    """Jobs not yet ended, in submission order (what a restarted daemon must resume, queue or fail)."""
    return _select(db, "state IN ('NotStarted', 'InProgress')", ())


def _select(db: Database, where: str, params: Params) -> list[JobRow]:
    return [_job(r) for r in db.all(f"SELECT {_COLUMNS} FROM batch_jobs WHERE {where} ORDER BY seq", params)]
