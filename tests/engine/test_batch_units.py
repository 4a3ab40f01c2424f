"""Batch parts of the daemon in-process: recurrence arithmetic, the scheduler with an injected clock, the
stores' round trips and the schema 2 -> 3 migration."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mlops_engine.batch import JobState
from mlops_engine.daemon.errors import ApiError
from mlops_engine.daemon.store import batch_jobs, batch_services, pipelines
from mlops_engine.daemon.store.batch_records import (
    BatchAsset,
    BatchParameter,
    BatchService,
    JobCounts,
    JobRow,
    Pipeline,
    Recurrence,
)
from mlops_engine.daemon.store.database import Database
from mlops_engine.daemon.store.migrations import MIGRATIONS
from mlops_engine.daemon.work import recurrence
from mlops_engine.daemon.work.schedules import ScheduleCreate, Scheduler

T0 = datetime(2026, 1, 31, 6, 0, tzinfo=UTC)


def test_next_run_never_at_creation_and_always_in_the_future():
    every_hour = Recurrence("Hour", 1, None)
    assert recurrence.next_run(every_hour, T0, T0) == T0 + timedelta(hours=1)  # not at creation
    assert recurrence.next_run(every_hour, T0, T0 + timedelta(hours=1)) == T0 + timedelta(hours=2)
    four_hours = Recurrence("Hour", 4, "2026-01-31T07:30:00Z")  # the seed's frequency="Hour", interval=4
    assert recurrence.next_run(four_hours, T0, T0) == datetime(2026, 1, 31, 7, 30, tzinfo=UTC)
    past = Recurrence("Day", 1, "2026-01-01T05:00:00")  # no zone: UTC; in the past: the next computed time
    assert recurrence.next_run(past, T0, T0) == datetime(2026, 2, 1, 5, 0, tzinfo=UTC)
    weekly = Recurrence("Week", 2, None)
    assert recurrence.next_run(weekly, T0, T0 + timedelta(days=15)) == T0 + timedelta(days=28)
    monthly = Recurrence("Month", 1, "2026-01-31T00:00:00Z")  # calendar months, clamped to the month's end
    assert recurrence.next_run(monthly, T0, T0) == datetime(2026, 2, 28, tzinfo=UTC)
    assert recurrence.next_run(monthly, T0, datetime(2026, 2, 28, tzinfo=UTC)) == datetime(
        2026, 3, 31, tzinfo=UTC
    )
    scaled = Recurrence("Minute", 1, None)  # a test minute of 2 s
    assert recurrence.next_run(scaled, T0, T0, minute_s=2) == T0 + timedelta(seconds=2)


def test_bad_recurrences_are_refused():
    with pytest.raises(ApiError, match=r"did you mean Day\?"):
        recurrence.parse_frequency("daily")
    assert recurrence.parse_frequency("minute") == "Minute"
    with pytest.raises(ApiError, match="Invalid interval 0"):
        recurrence.check(Recurrence("Hour", 0, None))
    with pytest.raises(ApiError, match="Invalid start time"):
        recurrence.check(Recurrence("Hour", 1, "noon"))


class FakeRunner:
    """Records the jobs a scheduler starts; `busy` says which of them still run."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.busy: set[str] = set()

    def is_active(self, service: str, job: str | None) -> bool:
        return job in self.busy

    def submit(self, request):
        self.started.append(request.name)
        self.busy.add(request.name)
        return JobRow(
            request.service,
            request.name,
            "parallel",
            JobState.NOT_STARTED,
            request.trigger,
            request.values,
            None,
            "/nowhere",
            "t",
            "t",
        )


@pytest.fixture
def scheduled(tmp_path):
    db = Database(tmp_path / "state.db")
    service = BatchService(
        "svc",
        "svc",
        "parallel",
        "/app",
        "entry.py",
        "artifact://x",
        (),
        (
            BatchParameter("--in", "Reference", "Input", None),
            BatchParameter("--out", "Reference", "Output", None),
            BatchParameter("--factor", "Value", "Input", "1"),
        ),
        {},
        None,
        "t",
        "t",
    )
    with db.tx() as conn:
        batch_services.put(conn, service)
        pipelines.save_pipeline(conn, Pipeline("p-1", "pipe", "svc", "", "Active", "k1", "k2", "t", "t"))
    clock = [T0]
    runner = FakeRunner()
    scheduler = Scheduler(SimpleNamespace(db=db), runner, clock=lambda: clock[0], minute_s=60)  # type: ignore[arg-type]
    return scheduler, runner, clock, db


def test_scheduler_runs_on_time_never_at_creation_and_never_two_at_once(scheduled):
    scheduler, runner, clock, db = scheduled
    created = scheduler.create(
        ScheduleCreate("s", "pipe", "exp", Recurrence("Minute", 1, None), (("--factor", "5"),))
    )
    assert created.next_run == recurrence.format_time(T0 + timedelta(minutes=1))
    assert scheduler.tick(T0) == T0 + timedelta(minutes=1) and runner.started == []  # nothing at creation
    assert scheduler.tick(T0 + timedelta(seconds=59)) and runner.started == []
    scheduler.tick(T0 + timedelta(minutes=1))
    assert len(runner.started) == 1 and runner.started[0].startswith("exp_")
    scheduler.tick(T0 + timedelta(minutes=2))  # the first job still runs: skipped, said so
    assert len(runner.started) == 1
    assert pipelines.find_schedule(db, "s").last_outcome.startswith("skipped: its previous job exp_")
    runner.busy.clear()
    scheduler.tick(T0 + timedelta(minutes=3, seconds=5))
    assert len(runner.started) == 2
    assert pipelines.find_schedule(db, "s").next_run == recurrence.format_time(T0 + timedelta(minutes=4))
    # disabled: nothing; enabled again: runs missed meanwhile are not made up
    scheduler.set_state("s", "Disabled")
    runner.busy.clear()
    scheduler.tick(T0 + timedelta(minutes=10))
    assert len(runner.started) == 2
    clock[0] = T0 + timedelta(minutes=10, seconds=30)
    enabled = scheduler.set_state("s", "Active")
    assert enabled.next_run == recurrence.format_time(T0 + timedelta(minutes=11))


def test_scheduler_catch_up_skips_runs_missed_while_stopped_and_run_now_runs_once(scheduled):
    scheduler, runner, clock, db = scheduled
    scheduler.create(ScheduleCreate("s", "pipe", "exp", Recurrence("Hour", 1, None), run_now=True))
    assert len(runner.started) == 1  # asked: once at creation
    assert "at creation, as asked" in pipelines.find_schedule(db, "s").last_outcome
    runner.busy.clear()
    clock[0] = T0 + timedelta(hours=5, minutes=30)  # the daemon was stopped for hours
    scheduler.catch_up()
    after = pipelines.find_schedule(db, "s")
    assert after.last_outcome == "missed 5 run(s) while the engine was stopped" and len(runner.started) == 1
    assert after.next_run == recurrence.format_time(T0 + timedelta(hours=6))
    with pytest.raises(ApiError, match="unknown parameter --nope"):
        scheduler.create(ScheduleCreate("t", "pipe", "exp", Recurrence("Hour", 1, None), (("--nope", "1"),)))
    with pytest.raises(ApiError, match="already exists"):
        scheduler.create(ScheduleCreate("s", "pipe", "exp", Recurrence("Hour", 1, None)))


def test_batch_records_round_trip_their_columns(tmp_path):
    db = Database(tmp_path / "state.db")
    service = BatchService(
        "svc",
        "A title",
        "legacy",
        "/app/v1",
        "food.py",
        "artifact://sha256/a",
        (BatchAsset("utils.py", "artifact://sha256/b", "python"),),
        (
            BatchParameter("--in", "Reference", "Input", "/data.csv"),
            BatchParameter("--threshold", "Value", "Input", None),
        ),
        {"mini_batch_size": "1MB"},
        "tcp://10.0.0.5:8786",
        "t1",
        "t1",
    )
    row = JobRow(
        "svc",
        "j1",
        "legacy",
        JobState.IN_PROGRESS,
        "endpoint",
        (("--in", "/x.csv"),),
        None,
        "/jobs/1",
        "t2",
        "t2",
        "exp",
        "p-1",
        None,
        "s",
        None,
        JobCounts(5, 2, 1, 100, 40, 3),
        "/out.txt",
        True,
        "/jobs/1/logs/driver.log",
        "Traceback ...",
        "msg",
    )
    with db.tx() as conn:
        batch_services.put(conn, service)
        batch_jobs.insert(conn, row)
    assert batch_services.get(db, "svc") == service and batch_jobs.get(db, "svc", "j1") == row
    with db.tx() as conn:  # a replace keeps the creation time and the place in lists
        batch_services.put(conn, replace(service, title="B", created="t9", modified="t9"))
    assert batch_services.get(db, "svc").created == "t1" and batch_services.get(db, "svc").title == "B"
    assert batch_jobs.active(db) == [row]
    changed = batch_jobs.modify(db, "svc", "j1", lambda r: replace(r, state=JobState.SUCCEEDED))
    assert changed is not None and batch_jobs.active(db) == []


def test_a_schema_2_home_gains_the_batch_tables_and_keeps_its_rows(tmp_path):
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for migrate in MIGRATIONS[:2]:
        migrate(conn)
    conn.execute("INSERT INTO schema_version VALUES (2)")
    conn.execute("INSERT INTO meta VALUES ('subscription_id', 'kept')")
    conn.execute("COMMIT")
    conn.close()
    db = Database(path)
    assert db.schema_version() == 3
    assert db.one("SELECT value FROM meta WHERE key = 'subscription_id'") == ("kept",)
    tables = {r[0] for r in db.all("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"batch_services", "batch_jobs", "pipelines", "schedules"} <= tables
