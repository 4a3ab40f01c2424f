"""Published pipelines and their schedules in state.db (names unique; found by id or by name)."""

from __future__ import annotations

import json
import sqlite3
from typing import Final, cast

from .batch_records import Frequency, Pipeline, Recurrence, Schedule, Switch
from .database import Database, Row

_PIPELINE: Final = "id, name, service, description, state, primary_key, secondary_key, created, modified"
_SCHEDULE: Final = (
    "id, name, pipeline_id, experiment, frequency, interval, start_time, state, assignments, created, modified, "
    "next_run, last_run, last_job, last_outcome"
)
_PipelineRow = tuple[str, str, str, str, str, str, str, str, str]
_S = str | None
_ScheduleRow = tuple[str, str, str, str, str, int, _S, str, str, str, str, _S, _S, _S, str]


def _pipeline(row: Row) -> Pipeline:
    pid, name, service, description, state, primary, secondary, created, modified = cast(_PipelineRow, row)
    return Pipeline(
        pid, name, service, description, cast(Switch, state), primary, secondary, created, modified
    )


def _schedule(row: Row) -> Schedule:
    (
        sid,
        name,
        pipeline_id,
        experiment,
        frequency,
        interval,
        start,
        state,
        assignments,
        created,
        modified,
        next_run,
        last_run,
        last_job,
        last_outcome,
    ) = cast(_ScheduleRow, row)
    pairs = tuple((str(k), str(v)) for k, v in json.loads(assignments))
    recurrence = Recurrence(cast(Frequency, frequency), interval, start)
    return Schedule(
        sid,
        name,
        pipeline_id,
        experiment,
        recurrence,
        cast(Switch, state),
        pairs,
        created,
        modified,
        next_run,
        last_run,
        last_job,
        last_outcome,
    )


def save_pipeline(conn: sqlite3.Connection, p: Pipeline) -> None:
    conn.execute(
        f"INSERT INTO pipelines ({_PIPELINE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "description = excluded.description, state = excluded.state, primary_key = excluded.primary_key, "
        "secondary_key = excluded.secondary_key, modified = excluded.modified",
        (
            p.id,
            p.name,
            p.service,
            p.description,
            p.state,
            p.primary_key,
            p.secondary_key,
            p.created,
            p.modified,
        ),
    )


def delete_pipeline(conn: sqlite3.Connection, pipeline_id: str) -> None:
    conn.execute("DELETE FROM pipelines WHERE id = ?", (pipeline_id,))


def find_pipeline(db: Database, id_or_name: str) -> Pipeline | None:
    row = db.one(
        f"SELECT {_PIPELINE} FROM pipelines WHERE id = ? OR name = ? ORDER BY id = ? DESC",
        (id_or_name, id_or_name, id_or_name),
    )
    return _pipeline(row) if row else None


def all_pipelines(db: Database, service: str | None = None) -> list[Pipeline]:
    where, params = ("WHERE service = ?", (service,)) if service else ("", ())
    return [_pipeline(r) for r in db.all(f"SELECT {_PIPELINE} FROM pipelines {where} ORDER BY seq", params)]


def save_schedule(conn: sqlite3.Connection, s: Schedule) -> None:
    r = s.recurrence
    values = (
        s.id,
        s.name,
        s.pipeline_id,
        s.experiment,
        r.frequency,
        r.interval,
        r.start_time,
        s.state,
        json.dumps([list(a) for a in s.assignments]),
        s.created,
        s.modified,
        s.next_run,
        s.last_run,
        s.last_job,
        s.last_outcome,
    )
    conn.execute(
        f"INSERT INTO schedules ({_SCHEDULE}) VALUES ({', '.join('?' * len(values))}) ON CONFLICT (id) DO UPDATE "
        "SET state = excluded.state, modified = excluded.modified, next_run = excluded.next_run, "
        "last_run = excluded.last_run, last_job = excluded.last_job, last_outcome = excluded.last_outcome",
        values,
    )


def delete_schedule(conn: sqlite3.Connection, schedule_id: str) -> None:
    conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))


def find_schedule(db: Database, id_or_name: str) -> Schedule | None:
    row = db.one(
        f"SELECT {_SCHEDULE} FROM schedules WHERE id = ? OR name = ? ORDER BY id = ? DESC",
        (id_or_name, id_or_name, id_or_name),
    )
    return _schedule(row) if row else None


def all_schedules(db: Database, pipeline_id: str | None = None) -> list[Schedule]:
    where, params = ("WHERE pipeline_id = ?", (pipeline_id,)) if pipeline_id else ("", ())
    return [_schedule(r) for r in db.all(f"SELECT {_SCHEDULE} FROM schedules {where} ORDER BY seq", params)]
