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


def test_suspended_job_stays_in_progress_and_resumes_with_every_row_once(tmp_path):
    """An engine that stops (daemon stop) suspends its jobs: nothing terminal is written, recover resumes."""
    data = write_csv(tmp_path / "in.csv", 800)
    from .conftest import make_job

    job = make_job(
        tmp_path, write_script(tmp_path, SLOW), [data], ["mini_batch_size=256", "process_count_per_node=2"]
    )
    job.start()
    wait_until(lambda: job.record.batches_flushed >= 3)
    job.suspend()
    result = job.wait(60)
    assert result is not None and result.state == JobState.IN_PROGRESS and "suspended" in result.message
    record = read_record(job.job_dir)
    assert record.state == JobState.IN_PROGRESS and record.ended is None
    assert 0 < record.batches_flushed < record.batches_total
    out = tmp_path / "job-out" / "parallel_run_step.txt"
    assert not out.exists() and out.with_name(out.name + ".partial").exists()
    resumed = recover(job.job_dir)
    assert isinstance(resumed, BatchJob)
    final = resumed.run()
    assert final.state == JobState.SUCCEEDED and final.items_done == 800
    assert out.read_text() == "".join(f"{i} row{i}\n" for i in range(800))


DRIVER_ENGINE = """
    import sys
    from mlops_engine.batch import BatchJob, LegacyDriverSpec, LegacyJobSpec
    BatchJob("legacy", sys.argv[2], LegacyJobSpec(LegacyDriverSpec(sys.argv[1]))).run()
"""


def test_legacy_driver_never_outlives_its_engine(tmp_path):
    """kill -9 of the engine: the driver (and what it started) is killed by its watchdog, no orphan stays."""
    driver = write_script(
        tmp_path,
        """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pids"), "w").write(
            f"{os.getpid()} {child.pid}")
        time.sleep(120)
    """,
        "driver.py",
    )
    job_dir = tmp_path / "job"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DRIVER_ENGINE), str(driver), str(job_dir)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        wait_until(lambda: (job_dir / "pids").exists() and len((job_dir / "pids").read_text().split()) == 2)
        pids = [int(p) for p in (job_dir / "pids").read_text().split()]
        assert all(alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in pids:
        wait_until(lambda pid=pid: not alive(pid), timeout=10)
    assert "cannot be resumed" in recover(job_dir).message  # type: ignore[union-attr]
