"""Schedules of published pipelines, and the daemon's scheduler thread that runs them.

A schedule is kept in state.db, so it survives daemon restarts. It never runs at creation unless asked
(`runNow`), and never runs two jobs at once: when its next run comes while its previous job is still queued or
running, that run is skipped and said so (`lastOutcome`). Runs missed while the daemon was stopped are not made
up at start-up (the next one is computed from now, and the outcome says how many were missed).

The clock is injected (`clock`), and `tick(now)` runs what is due at `now`, so tests need not wait; the
daemon's thread calls it when the next run is due or a schedule changed. MLOPS_SCHEDULE_MINUTE_S (tests only)
shortens the schedule minute (recurrence.py).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from ...batch import BatchError
from ..engine import Engine
from ..errors import ApiError, bad_request, conflict
from ..ids import arm_time
from ..store import batch_services
from ..store import pipelines as store
from ..store.batch_records import Recurrence, Schedule, Switch
from . import pipelines, recurrence
from .batch_jobs import JobRunner
from .batch_services import check_name
from .batch_specs import check_values

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_WAIT_S: Final = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def minute_seconds() -> float:
    return float(os.environ.get("MLOPS_SCHEDULE_MINUTE_S") or 60.0)


@dataclass(frozen=True)
class ScheduleCreate:
    """A parsed POST /v1/schedules."""

    name: str
    pipeline: str  # id or name
    experiment: str
    recurrence: Recurrence
    assignments: tuple[tuple[str, str], ...] = ()
    run_now: bool = False


def schedule_not_found(id_or_name: str) -> ApiError:
    return ApiError(404, "NotFound", f"Schedule '{id_or_name}' not found.")


def get(engine: Engine, id_or_name: str) -> Schedule:
    found = store.find_schedule(engine.db, id_or_name)
    if found is None:
        raise schedule_not_found(id_or_name)
    return found


class Scheduler:
    """Fires due schedules: `tick(now)` does one pass; `start()` runs passes in a thread until `stop()`."""

    def __init__(
        self, engine: Engine, runner: JobRunner, clock: Clock = utc_now, minute_s: float | None = None
    ):
        self.engine = engine
        self.runner = runner
        self.clock = clock
        self.minute_s = minute_s if minute_s is not None else minute_seconds()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one pass at a time (the thread, a create with runNow, a test's tick)

    # -- management ------------------------------------------------------------------------------------------

    def create(self, request: ScheduleCreate) -> Schedule:
        check_name(request.name, "schedule")
        pipelines.check_experiment(request.experiment)
        recurrence.check(request.recurrence)
        pipeline = pipelines.get(self.engine, request.pipeline)
        service = batch_services.get(self.engine.db, pipeline.service)
        if service is not None:
            try:
                check_values(service, dict(request.assignments))
            except BatchError as exc:  # refused now rather than at every run
                raise bad_request(str(exc)) from None
        if store.find_schedule(self.engine.db, request.name) is not None:
            raise conflict(f"A schedule named '{request.name}' already exists; choose another name.")
        now = self.clock()
        schedule = Schedule(
            str(uuid.uuid4()),
            request.name,
            pipeline.id,
            request.experiment,
            request.recurrence,
            "Active",
            request.assignments,
            recurrence.format_time(now),
            arm_time(),
            recurrence.format_time(self._next(request.recurrence, now, now)),
        )
        with self.engine.db.tx() as conn:
            store.save_schedule(conn, schedule)
        if request.run_now:
            with self._lock:
                schedule = self._fire(schedule, now, at_creation=True)
        self._wake.set()
        return schedule

    def set_state(self, id_or_name: str, state: Switch) -> Schedule:
        schedule = get(self.engine, id_or_name)
        now = self.clock()
        changed = replace(schedule, state=state, modified=arm_time())
        if state == "Active":  # runs missed while disabled are not made up
            created = recurrence.parse_time(schedule.created)
            changed = replace(
                changed, next_run=recurrence.format_time(self._next(schedule.recurrence, created, now))
            )
        with self.engine.db.tx() as conn:
            store.save_schedule(conn, changed)
        self._wake.set()
        return changed

    def delete(self, id_or_name: str) -> Schedule:
        schedule = get(self.engine, id_or_name)
        with self.engine.db.tx() as conn:
            store.delete_schedule(conn, schedule.id)
        return schedule

    # -- running ---------------------------------------------------------------------------------------------

    def _next(self, rec: Recurrence, created: datetime, after: datetime) -> datetime:
        return recurrence.next_run(rec, created, after, self.minute_s)

    def catch_up(self) -> None:
        """At start-up: runs missed while the daemon was stopped are skipped (said in lastOutcome)."""
        now = self.clock()
        for schedule in store.all_schedules(self.engine.db):
            if schedule.state != "Active" or schedule.next_run is None:
                continue
            due = recurrence.parse_time(schedule.next_run)
            if due > now:
                continue
            created = recurrence.parse_time(schedule.created)
            following = self._next(schedule.recurrence, created, now)
            missed = self._missed(schedule.recurrence, created, due, now)
            changed = replace(
                schedule,
                next_run=recurrence.format_time(following),
                last_outcome=f"missed {missed} run(s) while the engine was stopped",
            )
            with self.engine.db.tx() as conn:
                store.save_schedule(conn, changed)

    def _missed(self, rec: Recurrence, created: datetime, due: datetime, now: datetime) -> int:
        count, when = 1, due
        while count < 1000 and (when := self._next(rec, created, when)) <= now:
            count += 1
        return count

    def tick(self, now: datetime | None = None) -> datetime | None:
        """Run every Active schedule whose next run is due at `now`; returns the earliest next run after it."""
        now = now or self.clock()
        earliest: datetime | None = None
        with self._lock:
            for schedule in store.all_schedules(self.engine.db):
                if schedule.state != "Active" or schedule.next_run is None:
                    continue
                due = recurrence.parse_time(schedule.next_run)
                if due <= now:
                    schedule = self._fire(schedule, now)
                    due = recurrence.parse_time(schedule.next_run or "")
                earliest = due if earliest is None or due < earliest else earliest
        return earliest

    def _fire(self, schedule: Schedule, now: datetime, at_creation: bool = False) -> Schedule:
        pipeline = store.find_pipeline(self.engine.db, schedule.pipeline_id)
        last_job = schedule.last_job
        if pipeline is None:
            outcome = "skipped: its pipeline was deleted"
        elif pipeline.state != "Active":
            outcome = "skipped: its pipeline is disabled"
        elif self.runner.is_active(pipeline.service, schedule.last_job):
            outcome = f"skipped: its previous job {schedule.last_job} is still running"
        else:
            try:
                run = pipelines.PipelineRun(schedule.experiment, schedule.assignments)
                job = pipelines.start(self.runner, pipeline, run, "schedule", schedule.id)
                last_job = job.name
                outcome = f"started job {job.name}" + (" (at creation, as asked)" if at_creation else "")
            except ApiError as exc:
                outcome = f"failed to start a job: {exc.message}"
        log.info("schedule %s: %s", schedule.name, outcome)
        created = recurrence.parse_time(schedule.created)
        following = self._next(schedule.recurrence, created, now)
        changed = replace(
            schedule,
            last_run=recurrence.format_time(now),
            last_job=last_job,
            last_outcome=outcome,
            next_run=recurrence.format_time(following),
        )
        with self.engine.db.tx() as conn:
            if store.find_schedule(self.engine.db, schedule.id) is not None:  # not deleted meanwhile
                store.save_schedule(conn, changed)
        return changed

    def start(self) -> None:
        self.catch_up()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                earliest = self.tick()
            except Exception:  # the scheduler must keep running; the failure is logged
                log.exception("scheduler pass failed")
                earliest = None
            wait = MAX_WAIT_S if earliest is None else (earliest - self.clock()).total_seconds()
            self._wake.wait(min(MAX_WAIT_S, max(0.01, wait)))
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
