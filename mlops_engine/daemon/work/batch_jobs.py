"""Batch jobs: submitted (validated at once), queued, run through `mlops_engine.batch`, cancelled, recovered.

At most `MLOPS_BATCH_CONCURRENT_JOBS` jobs run at a time (default 1: a job already uses every core with
Azure ML's default `process_count_per_node`); the others wait, `NotStarted`, in submission order. Every state
change the batch engine reports is written to the job's row. When the daemon stops, running jobs are suspended
(they stay `InProgress` at their last checkpoint); after a restart, or after a crash, `recover` resumes each
interrupted parallel job from its checkpoint, fails what cannot be resumed (a legacy driver, a changed input),
and queues the jobs that had not started: no job is ever left "running" with nothing running it.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from ...batch import BatchError, BatchJob, JobRecord, JobState, Progress, read_record, recover
from ...batch.specs import JobSpec, LegacyJobSpec, ParallelJobSpec
from ...batch.state import write_record
from ..engine import Engine
from ..errors import ApiError, bad_request, conflict
from ..ids import arm_time
from ..store import batch_jobs, batch_services
from ..store.batch_records import JobCounts, JobRow, Trigger
from ..store.files import remove_tree
from .batch_services import check_name, not_found
from .batch_specs import job_spec

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (service, job name)
CANCEL_WAIT_S: Final = 10.0
SUSPEND_WAIT_S: Final = 30.0


@dataclass(frozen=True)
class JobSubmit:
    """A job to start: PUT /v1/webservices/{service}/jobs/{name}, a pipeline POST or a schedule."""

    service: str
    name: str
    values: tuple[tuple[str, str], ...]
    dask_scheduler: str | None = None  # None: the service's, else local worker processes
    trigger: Trigger = "cli"
    experiment: str | None = None
    pipeline_id: str | None = None
    schedule_id: str | None = None


def job_not_found(service: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f"Job '{name}' not found for web service '{service}'.")


def _spec_of(record: JobRecord) -> JobSpec:
    if record.kind == "legacy":
        return LegacyJobSpec.from_json(record.spec)
    return ParallelJobSpec.from_json(record.spec)


class JobRunner:
    """Owns every job the daemon runs: the queue, the running threads, live progress."""

    def __init__(self, engine: Engine, slots: int | None = None) -> None:
        self.engine = engine
        self.root = engine.paths.home / "batch" / "jobs"
        self.slots = max(1, slots or int(os.environ.get("MLOPS_BATCH_CONCURRENT_JOBS", "1")))
        self._lock = threading.Lock()
        self._queue: deque[Key] = deque()
        self._jobs: dict[Key, BatchJob] = {}  # queued or running
        self._threads: dict[Key, threading.Thread] = {}
        self._stopping = False

    # -- submission ------------------------------------------------------------------------------------------

    def submit(self, request: JobSubmit) -> JobRow:
        """Validate, store (NotStarted) and queue a job; 400/404/409 with the reason if it cannot run."""
        check_name(request.name, "job")
        service = batch_services.get(self.engine.db, request.service)
        if service is None:
            raise not_found(request.service)
        if batch_jobs.get(self.engine.db, service.name, request.name) is not None:
            raise _exists(service.name, request.name)
        dask = request.dask_scheduler or service.dask_scheduler
        job_dir = self.root / uuid.uuid4().hex
        key = (service.name, request.name)
        try:
            spec = job_spec(service, dict(request.values), request.name, dask, self.engine.python)
            job = self._job(key, job_dir, spec)
        except BatchError as exc:
            remove_tree(job_dir)
            raise bad_request(str(exc)) from None
        now = arm_time()
        row = JobRow(
            service.name,
            request.name,
            service.contract,
            JobState.NOT_STARTED,
            request.trigger,
            request.values,
            dask,
            str(job_dir),
            now,
            now,
            request.experiment,
            request.pipeline_id,
            request.schedule_id,
            output_path=job.record.output_path,
            log_path=job.record.log_path or None,
        )
        try:
            with self.engine.db.tx() as conn:
                batch_jobs.insert(conn, row)
        except sqlite3.IntegrityError:  # the same name submitted concurrently
            remove_tree(job_dir)
            raise _exists(service.name, request.name) from None
        log.info("batch job %s/%s submitted (%s)", service.name, request.name, request.trigger)
        self._enqueue(key, job)
        return row

    def _job(self, key: Key, job_dir: Path, spec: JobSpec, resume: JobRecord | None = None) -> BatchJob:
        return BatchJob(
            key[1],
            job_dir,
            spec,
            on_progress=lambda p: self._progressed(key, p),
            on_state=lambda r: self._persist(key, r),
            resume=resume,
        )

    def _enqueue(self, key: Key, job: BatchJob, first: bool = False) -> None:
        with self._lock:
            self._jobs[key] = job
            if first:
                self._queue.appendleft(key)
            else:
                self._queue.append(key)
        self._dispatch()

    def _dispatch(self) -> None:
        with self._lock:
            while not self._stopping and self._queue and len(self._threads) < self.slots:
                key = self._queue.popleft()
                job = self._jobs[key]
                thread = threading.Thread(
                    target=self._run, args=(key, job), name=f"batch-{key[0]}-{key[1]}", daemon=True
                )
                self._threads[key] = thread
                thread.start()

    def _run(self, key: Key, job: BatchJob) -> None:
        try:
            result = job.run()
            if result.state.terminal:
                self._update(
                    key, lambda r: replace(r, output_path=result.output_path, partial=result.partial)
                )
        except Exception:  # BatchJob.run ends the job itself; this is a last resort
            log.exception("batch job %s/%s crashed", *key)
            self._update(
                key,
                lambda r: replace(
                    r, state=JobState.FAILED, ended=arm_time(), message="internal error; see daemon.log"
                ),
            )
        finally:
            with self._lock:
                self._threads.pop(key, None)
                self._jobs.pop(key, None)
            self._dispatch()

    # -- what the batch engine reports -----------------------------------------------------------------------

    def _update(self, key: Key, change: Callable[[JobRow], JobRow]) -> None:
        batch_jobs.modify(self.engine.db, key[0], key[1], change)

    def _persist(self, key: Key, record: JobRecord) -> None:
        def change(row: JobRow) -> JobRow:
            moved = row.state != record.state
            counts = replace(
                row.counts,
                batches_total=record.batches_total,
                batches_failed=record.batches_failed,
                items_done=max(row.counts.items_done, record.items_done),
                items_failed=max(row.counts.items_failed, record.items_failed),
            )
            if record.state.terminal:
                counts = replace(counts, items_done=record.items_done, items_failed=record.items_failed)
            return replace(
                row,
                state=record.state,
                started=record.started,
                ended=record.ended,
                counts=counts,
                output_path=record.output_path,
                log_path=record.log_path or None,
                first_error=record.first_error,
                message=record.message,
                modified=arm_time() if moved else row.modified,
            )

        batch_jobs.modify(self.engine.db, key[0], key[1], change)

    def _progressed(self, key: Key, p: Progress) -> None:
        counts = JobCounts(
            p.batches_total, p.batches_done, p.batches_failed, p.items_total, p.items_done, p.items_failed
        )
        batch_jobs.modify(self.engine.db, key[0], key[1], lambda r: replace(r, counts=counts))

    def progress(self, service: str, name: str) -> Progress | None:
        """Live progress of a running job (None when it is not running)."""
        with self._lock:
            job = self._jobs.get((service, name)) if (service, name) in self._threads else None
        return job.progress() if job is not None else None

    # -- control ---------------------------------------------------------------------------------------------

    def cancel(self, service: str, name: str) -> JobRow:
        """Cancel a queued or running job; waits (bounded) until a running one has stopped."""
        if batch_services.get(self.engine.db, service) is None:
            raise not_found(service)
        row = batch_jobs.get(self.engine.db, service, name)
        if row is None:
            raise job_not_found(service, name)
        if row.state.terminal:
            raise conflict(
                f"Job '{name}' of web service '{service}' has already ended ({row.state}); "
                "there is nothing to cancel."
            )
        key = (service, name)
        with self._lock:
            queued = key in self._queue
            if queued:
                self._queue.remove(key)
            job = self._jobs.pop(key) if queued else self._jobs.get(key)
            thread = self._threads.get(key)
        if thread is not None and job is not None:
            job.cancel()
            thread.join(CANCEL_WAIT_S)
        else:
            self._cancel_unstarted(key, job, Path(row.job_dir))
        found = batch_jobs.get(self.engine.db, service, name)
        assert found is not None
        return found

    def _cancel_unstarted(self, key: Key, job: BatchJob | None, job_dir: Path) -> None:
        now = arm_time()
        message = "cancelled by request before it started"
        if job is not None:
            record = replace(job.record, state=JobState.CANCELLED, ended=now, message=message)
            write_record(job.job_dir, record)
        elif (job_dir / "state.json").exists():
            record = replace(read_record(job_dir), state=JobState.CANCELLED, ended=now, message=message)
            write_record(job_dir, record)

        def cancelled(r: JobRow) -> JobRow:  # it never wrote anything
            return replace(
                r,
                state=JobState.CANCELLED,
                ended=now,
                modified=now,
                message=message,
                output_path=None,
                partial=False,
            )

        self._update(key, cancelled)

    def cancel_all(self, service: str) -> None:
        """Cancel every unfinished job of a service (before it is deleted)."""
        for row in batch_jobs.of_service(self.engine.db, service):
            if not row.state.terminal:
                try:
                    self.cancel(service, row.name)
                except ApiError:  # ended meanwhile
                    pass
        deadline = time.monotonic() + CANCEL_WAIT_S
        while self._running_of(service) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _running_of(self, service: str) -> bool:
        with self._lock:
            return any(k[0] == service for k in self._threads)

    def is_active(self, service: str, job: str | None) -> bool:
        """Whether a job (e.g. the last one a schedule started) is still queued or running."""
        if job is None:
            return False
        row = batch_jobs.get(self.engine.db, service, job)
        return row is not None and row.state in (JobState.NOT_STARTED, JobState.IN_PROGRESS)

    # -- daemon start and stop -------------------------------------------------------------------------------

    def recover(self) -> None:
        """Resume, queue or fail every job a previous daemon left unfinished."""
        resumed: list[tuple[Key, BatchJob]] = []
        queued: list[tuple[Key, BatchJob]] = []
        for row in batch_jobs.active(self.engine.db):
            key, job_dir = (row.service, row.name), Path(row.job_dir)
            try:
                record = read_record(job_dir)
            except BatchError as exc:
                self._fail(key, f"the engine restarted and the job's state is lost ({exc}): run it again")
                continue
            if record.state.terminal:
                self._persist(key, record)
            elif record.state == JobState.NOT_STARTED:
                try:
                    queued.append((key, self._job(key, job_dir, _spec_of(record), resume=record)))
                except BatchError as exc:
                    self._fail(key, f"the engine restarted and the job can no longer start: {exc}")
            else:
                outcome = recover(
                    job_dir, functools.partial(self._progressed, key), functools.partial(self._persist, key)
                )
                if isinstance(outcome, BatchJob):
                    log.info("batch job %s/%s resumes from mini-batch %d", *key, record.batches_flushed)
                    resumed.append((key, outcome))
        for key, job in reversed(resumed):
            self._enqueue(key, job, first=True)
        for key, job in queued:
            self._enqueue(key, job)

    def _fail(self, key: Key, message: str) -> None:
        now = arm_time()
        self._update(
            key, lambda r: replace(r, state=JobState.FAILED, ended=now, modified=now, message=message)
        )

    def shutdown(self) -> None:
        """Suspend running jobs (they resume at the next start); queued ones stay queued in the database."""
        with self._lock:
            self._stopping = True
            running = [(self._jobs[k], t) for k, t in self._threads.items()]
        for job, _ in running:
            job.suspend()
        deadline = time.monotonic() + SUSPEND_WAIT_S
        for _, thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))


def _exists(service: str, name: str) -> ApiError:
    return conflict(
        f"Job '{name}' already exists for web service '{service}'; give another job name with -j."
    )
