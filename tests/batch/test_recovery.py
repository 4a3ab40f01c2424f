"""A daemon killed mid-job: after restart, a parallel job resumes from its checkpoint; a legacy one is failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mlops_engine.batch import (
    BatchJob,
    JobRecord,
    JobState,
    LegacyDriverSpec,
    LegacyJobSpec,
    read_record,
    recover,
)
from mlops_engine.batch.state import write_record

from .conftest import alive, wait_until, write_csv, write_script

SLOW = """
    import time
    def run(mini_batch):
        time.sleep(0.05)
        return mini_batch[["id", "name"]]
"""

RUNNER = """
    import sys
    from mlops_engine.batch import BatchJob, ParallelJobSpec, settings_from_params
    spec = ParallelJobSpec(sys.argv[1], (sys.argv[2],), sys.argv[3],
                           settings_from_params(["mini_batch_size=256", "process_count_per_node=2"]))
    BatchJob("resumable", sys.argv[4], spec).run()
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


def test_killed_engine_resumes_from_checkpoint_with_every_row_once(tmp_path):
    data = write_csv(tmp_path / "in.csv", 800)
    script = write_script(tmp_path, SLOW)
    job_dir, out_dir = tmp_path / "job", tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RUNNER), str(script), str(data), str(out_dir), str(job_dir)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        wait_until(lambda: (job_dir / "state.json").exists() and read_record(job_dir).batches_flushed >= 4)
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in workers:  # the watchdog ends workers whose engine died
        wait_until(lambda pid=pid: not alive(pid), timeout=10)
    before = read_record(job_dir)
    assert before.state == JobState.IN_PROGRESS and 0 < before.batches_flushed < before.batches_total
    job = recover(job_dir)
    assert isinstance(job, BatchJob)
    result = job.run()
    assert result.state == JobState.SUCCEEDED and result.items_done == 800
    expected = "".join(f"{i} row{i}\n" for i in range(800))
    assert (out_dir / "parallel_run_step.txt").read_text() == expected
    assert not (out_dir / "parallel_run_step.txt.partial").exists()


def test_changed_input_or_legacy_driver_cannot_resume_and_is_failed(tmp_path):
    data = write_csv(tmp_path / "in.csv", 50)
    from .conftest import ECHO, make_job

    job = make_job(tmp_path, write_script(tmp_path, ECHO), [data], [])
    write_record(job.job_dir, job.record.__class__(**{**job.record.__dict__, "state": JobState.IN_PROGRESS}))
    write_csv(data, 60)
    failed = recover(job.job_dir)
    assert (
        isinstance(failed, JobRecord)
        and failed.state == JobState.FAILED
        and "input has changed" in failed.message
    )
    assert read_record(job.job_dir).state == JobState.FAILED

    legacy = BatchJob(
        "l",
        tmp_path / "legacy",
        LegacyJobSpec(LegacyDriverSpec(str(write_script(tmp_path, "pass\n", "d.py")))),
    )
    write_record(
        legacy.job_dir, legacy.record.__class__(**{**legacy.record.__dict__, "state": JobState.IN_PROGRESS})
    )
    record = recover(legacy.job_dir)
    assert (
        isinstance(record, JobRecord)
        and record.state == JobState.FAILED
        and "cannot be resumed" in record.message
    )
    assert recover(legacy.job_dir) == record  # terminal: returned as is


def test_record_round_trips_json(tmp_path):
    job = BatchJob(
        "l", tmp_path / "j", LegacyJobSpec(LegacyDriverSpec(str(write_script(tmp_path, "pass\n"))))
    )
    data = json.loads((job.job_dir / "state.json").read_text())
    assert JobRecord.from_json(data) == job.record and data["state"] == "NotStarted"
