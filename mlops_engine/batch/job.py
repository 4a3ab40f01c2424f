"""The job API a daemon drives from a worker thread: create (validates at once), start, progress, cancel, wait.

A job lives in its own folder (``job_dir``): ``state.json`` (a :class:`JobRecord`, rewritten atomically on every
state change and checkpoint, and handed to ``on_state`` so the daemon can keep it in its database), ``logs/``
and, for a legacy driver, ``app/``.  After a daemon restart :func:`recover` resumes a parallel job from its last
checkpoint (the output is cut back to the last durable mini-batch and the rest is redone) or fails a job that
cannot be resumed; a job is never left "running" with nothing running it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from mlops_engine.batch.engine import Engine, Prefix
from mlops_engine.batch.entry import check_entry_script
from mlops_engine.batch.errors import BatchConfigError, BatchError, BatchStateError
from mlops_engine.batch.executors import Executor, LocalExecutor
from mlops_engine.batch.legacy import driver_arguments, run_driver
from mlops_engine.batch.output import JobLogs, OrderedOutput
from mlops_engine.batch.plan import BatchPlan, InputSet, plan_batches, resolve_input_set
from mlops_engine.batch.protocol import WorkerConfig
from mlops_engine.batch.records import JobRecord, JobResult, JobState, Progress
from mlops_engine.batch.specs import JobSpec, ParallelJobSpec
from mlops_engine.batch.state import now, write_record


class BatchJob:
    """One job.  Construction validates everything that can be checked before running (raising BatchError)."""

    def __init__(
        self,
        job_id: str,
        job_dir: str | os.PathLike[str],
        spec: JobSpec,
        on_progress: Callable[[Progress], None] | None = None,
        on_state: Callable[[JobRecord], None] | None = None,
        resume: JobRecord | None = None,
    ) -> None:
        self.job_id = job_id
        self.job_dir = Path(job_dir).resolve()
        self.spec = spec
        self.on_progress = on_progress
        self.on_state = on_state
        self._cancel = threading.Event()
        self._suspend = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: JobResult | None = None
        self._engine: Engine | None = None
        self.executor: Executor | None = None
        self.plan: BatchPlan | None = None  # cut into mini-batches when the job runs
        self.inputs: InputSet | None = None
        self._argv: list[str] = []
        self.output_path: Path | None = None
        if isinstance(spec, ParallelJobSpec):
            if spec.executor.kind == "dask" and not spec.executor.address:
                raise BatchConfigError(
                    "the Dask executor needs the scheduler address, e.g. tcp://127.0.0.1:8786"
                )
            check_entry_script(spec.entry_script)
            self.inputs = resolve_input_set(spec.inputs, spec.settings, spec.input_kind)
            if spec.settings.output_action == "append_row":
                self.output_path = Path(spec.output_dir).resolve() / spec.settings.append_row_file_name
                if resume is None:
                    OrderedOutput.check_free(self.output_path)
                    OrderedOutput.check_free(self.output_path.with_name(self.output_path.name + ".partial"))
        else:
            spec.driver.validate()
            self._argv = driver_arguments(spec.driver, dict(spec.values))
        self.job_dir.mkdir(parents=True, exist_ok=True)
        self.logs = JobLogs(self.job_dir / "logs")
        kind: Literal["parallel", "legacy"] = "parallel" if isinstance(spec, ParallelJobSpec) else "legacy"
        log_path = self.job_dir / "logs" / ("driver.log" if kind == "legacy" else "job_result.txt")
        self._record = resume or JobRecord(
            job_id=job_id,
            kind=kind,
            state=JobState.NOT_STARTED,
            spec=spec.to_json(),
            created=now(),
            plan_fingerprint=self.inputs.fingerprint() if self.inputs else "",
            output_path=str(self.output_path) if self.output_path else None,
            log_path=str(log_path),
        )
        self._set(state=self._record.state)

    # -- state ---------------------------------------------------------------------------------------------

    @property
    def record(self) -> JobRecord:
        with self._lock:
            return self._record

    def _set(self, **changes: Any) -> JobRecord:
        with self._lock:
            self._record = replace(self._record, **changes)
            record = self._record
        write_record(self.job_dir, record)
        if self.on_state is not None:
            self.on_state(record)
        return record

    def progress(self) -> Progress:
        engine = self._engine
        if engine is not None:
            return replace(engine.progress(), state=self.record.state)
        r = self.record
        return Progress(r.state, 0, r.batches_total, 0, r.items_done, r.items_failed, 0, 0.0, 0.0)

    # -- control -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread; returns at once."""
        with self._lock:
            if self._thread is not None or self._record.state.terminal:
                raise BatchStateError(f"job {self.job_id} was already started")
            self._thread = threading.Thread(target=self.run, name=f"batch-job-{self.job_id}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def suspend(self) -> None:
        """Stop running without ending the job (the engine is stopping): the record stays InProgress at its last
        checkpoint, so :func:`recover` resumes it at the next start (a legacy driver is killed, and recover
        fails it: a driver cannot be resumed)."""
        self._suspend.set()
        self._cancel.set()

    @property
    def suspended(self) -> bool:
        return self._suspend.is_set()

    def wait(self, timeout: float | None = None) -> JobResult | None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._result

    @property
    def result(self) -> JobResult | None:
        """The end of the job, once it has ended (None before)."""
        return self._result

    def run(self) -> JobResult:
        """Run to the end in the calling thread."""
        started = time.monotonic()
        self._set(state=JobState.IN_PROGRESS, started=self._record.started or now())
        try:
            if isinstance(self.spec, ParallelJobSpec):
                state, message, partial = self._run_parallel(self.spec)
            else:
                state, message, error = run_driver(self.spec.driver, self._argv, self.job_dir, self._cancel)
                partial = False
                if error:
                    self._set(first_error=error)
        except BatchError as exc:  # e.g. the Dask scheduler cannot be reached
            state, message, partial = JobState.FAILED, str(exc), self._partial_path_exists()
        except Exception as exc:  # noqa: BLE001 - an unexpected failure must still end the job, with its reason
            state, message, partial = JobState.FAILED, f"engine error: {exc!r}", self._partial_path_exists()
            self._set(first_error=self._record.first_error or repr(exc))
        if self._suspend.is_set() and state == JobState.CANCELLED:
            return self._suspended_result(started)
        record = self._set(state=state, message=message, ended=now())
        self.logs.result(
            f"{state}: {message}\n" + (f"\n{record.first_error}\n" if record.first_error else "")
        )
        output = None
        if self.output_path is not None:
            output = str(
                self.output_path.with_name(self.output_path.name + ".partial")
                if partial
                else self.output_path
            )
        progress = self.progress()
        self._result = JobResult(
            self.job_id,
            state,
            output,
            partial,
            progress.items_total,
            progress.items_done,
            progress.items_failed,
            record.batches_total,
            progress.batches_failed,
            record.first_error,
            message,
            time.monotonic() - started,
        )
        return self._result

    def _suspended_result(self, started: float) -> JobResult:
        """The job stopped for an engine shutdown: nothing terminal is written, its checkpoint stays."""
        r = self.record
        self._result = JobResult(
            self.job_id, JobState.IN_PROGRESS, None, True, self.progress().items_total,
            r.items_done, r.items_failed, r.batches_total, r.batches_failed, r.first_error,
            "suspended: the engine stopped; the job resumes from its checkpoint when the engine starts again",
            time.monotonic() - started,
        )  # fmt: skip
        return self._result

    def _partial_path_exists(self) -> bool:
        return (
            self.output_path is not None
            and self.output_path.with_name(self.output_path.name + ".partial").exists()
        )

    def _make_executor(self, spec: ParallelJobSpec, config: WorkerConfig) -> Executor:
        s = spec.settings
        if spec.executor.kind == "dask":
            from mlops_engine.batch.dask_executor import DaskExecutor

            return DaskExecutor(
                spec.executor.address or "",
                config,
                s.run_invocation_timeout,
                spec.python,
                spec.executor.connect_timeout,
            )
        return LocalExecutor(
            config, s.total_processes(), s.processes_per_node(), s.run_invocation_timeout, spec.python
        )

    def _run_parallel(self, spec: ParallelJobSpec) -> tuple[JobState, str, bool]:
        assert self.inputs is not None
        record = self._record
        resumed = None
        if record.batches_flushed:
            resumed = Prefix(
                record.batches_flushed,
                record.items_done,
                record.items_failed,
                record.batches_failed,
                list(record.failed_batches),
            )
        out_dir = Path(spec.output_dir).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        s = spec.settings
        config = WorkerConfig(
            str(Path(spec.entry_script).resolve()),
            tuple(str(Path(d).resolve()) for d in spec.source_dirs),
            s.output_action,
            s.append_row_dataframe_header,
            s.arguments,
            str(out_dir),
            str(self.logs.root),
            "0",
            "process000",
            s.logging_level,
        )
        executor = self._make_executor(
            spec, config
        )  # first: a scheduler that cannot be reached leaves no file
        self.executor = executor
        try:
            executor.prestart()
            self.plan = plan_batches(self.inputs)
            self._set(batches_total=len(self.plan.batches))
            output = OrderedOutput(self.output_path, record.batches_flushed, record.bytes_flushed)
            engine = Engine(
                self.plan,
                s,
                executor,
                output,
                self.logs,
                self._cancel,
                resumed,
                on_progress=self.on_progress,
                on_checkpoint=lambda: self._checkpoint(engine, output),
            )
            self._engine = engine
            end = engine.run(record.batches_flushed)
        finally:
            executor.close()
        self._checkpoint(engine, output)
        if end.state == JobState.SUCCEEDED:
            output.commit()
        else:
            output.abandon()  # a suspended job's partial file is cut back to its checkpoint when it resumes
        self._set(first_error=engine.tally.first_error)
        return end.state, end.message, end.state != JobState.SUCCEEDED and self.output_path is not None

    def _checkpoint(self, engine: Engine, output: OrderedOutput) -> None:
        p = engine.prefix
        self._set(
            batches_flushed=p.next_index,
            bytes_flushed=output.bytes_written,
            items_done=p.items_done,
            items_failed=p.items_failed,
            batches_failed=p.batches_failed,
            failed_batches=tuple(p.failed_batches),
            first_error=engine.tally.first_error,
        )
