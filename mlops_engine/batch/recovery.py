"""After a daemon restart: resume a parallel job from its checkpoint, or fail what cannot be resumed."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mlops_engine.batch.job import BatchJob
from mlops_engine.batch.records import JobRecord, JobState, Progress
from mlops_engine.batch.specs import ParallelJobSpec
from mlops_engine.batch.state import now, read_record, write_record


def recover(
    job_dir: str | os.PathLike[str],
    on_progress: Callable[[Progress], None] | None = None,
    on_state: Callable[[JobRecord], None] | None = None,
) -> BatchJob | JobRecord:
    """After a restart: a finished job's record; a resumable parallel job (not started yet: call start());
    otherwise the record, now Failed with the reason."""
    folder = Path(job_dir).resolve()
    record = read_record(folder)
    if record.state.terminal:
        return record

    def fail(reason: str) -> JobRecord:
        failed = replace(record, state=JobState.FAILED, message=reason, ended=now())
        write_record(folder, failed)
        if on_state is not None:
            on_state(failed)
        return failed

    if record.kind == "legacy":
        return fail(
            "the engine stopped while the driver was running; a legacy driver cannot be resumed: run it again"
        )
    try:
        spec = ParallelJobSpec.from_json(record.spec)
        job = BatchJob(record.job_id, folder, spec, on_progress, on_state, resume=record)
    except Exception as exc:  # noqa: BLE001 - any reason not to resume is reported on the job
        return fail(f"the engine stopped while the job was running and it cannot be resumed: {exc}")
    assert job.inputs is not None
    if job.inputs.fingerprint() != record.plan_fingerprint:
        return fail(
            "the engine stopped while the job was running, and its input has changed since: run it again"
        )
    return job
