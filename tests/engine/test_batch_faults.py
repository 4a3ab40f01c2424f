"""Batch faults through the daemon and the CLI (issue 9, "Faults and bad input"): a worker killed -9, a hung
mini-batch, bad rows under and over the threshold, cancel mid-job, the daemon killed or stopped mid-job."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .batch_kit import (
    control,
    create_parallel,
    daemon_pid,
    expected,
    job,
    setup,
    wait_job,
    worker_pids,
    write_csv,
)

ROWS = 600


def _run(engine, service: str, name: str, *extra: str) -> None:
    engine.az_ok("service", "run", "batch", "-n", service, "-j", name, *extra)


def test_worker_killed_mid_job_is_retried_and_every_row_is_written_once(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", ROWS)
    control(cli_engine, sleep=0.1)
    create_parallel(cli_engine, "kill", data, "mini_batch_size:256", "process_count_per_node:2")
    _run(cli_engine, "kill", "j")
    running = wait_job(cli_engine, "kill", "j", lambda j: j["Progress"]["BatchesDone"] >= 3)
    assert running["State"] == "InProgress"
    victim = worker_pids(cli_engine)[0]
    os.kill(victim, signal.SIGKILL)
    done = wait_job(cli_engine, "kill", "j", lambda j: j["State"] not in ("NotStarted", "InProgress"))
    assert done["State"] == "Succeeded", done
    assert Path(done["OutputPath"]).read_text() == expected(ROWS)
    assert victim not in worker_pids(cli_engine)
    result = (Path(done["DriverLogFile"][len("file://") :])).read_text()
    assert "Succeeded" in result


def test_hung_mini_batch_is_killed_at_the_timeout_and_retried(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 100)
    control(cli_engine, hang_on=50)
    create_parallel(cli_engine, "hang", data, "mini_batch_size:256", "run_invocation_timeout:2")
    proc = cli_engine.az("service", "run", "batch", "-n", "hang", "-j", "j", "-w", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    done = job(cli_engine, "hang", "j")
    assert Path(done["OutputPath"]).read_text() == expected(100)
    assert "timeout" in done["FirstError"] and (cli_engine.work / "control" / "hung-50").exists()


def test_bad_rows_count_towards_the_threshold_and_showjob_prints_the_first_traceback(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 200)
    control(cli_engine, bad=[7])
    create_parallel(cli_engine, "bad", data, "mini_batch_size:256", "run_max_try:2")
    under = cli_engine.az(
        "service", "run", "batch", "-n", "bad", "-j", "under", "--param=error_threshold:100", "-w"
    )
    assert under.returncode == 0, under.stdout + under.stderr
    done = job(cli_engine, "bad", "under")
    lines = Path(done["OutputPath"]).read_text().splitlines()
    assert done["State"] == "Succeeded" and 0 < done["Progress"]["ItemsFailed"] <= 100
    assert "7 row7 x1" not in lines and len(lines) == 200 - done["Progress"]["ItemsFailed"]
    over = cli_engine.az(
        "service", "run", "batch", "-n", "bad", "-j", "over", "--param=error_threshold:3", "-w"
    )
    assert over.returncode == 1
    assert "Job over of service bad ended Failed." in over.stderr
    shown = cli_engine.az_ok("service", "showjob", "batch", "-n", "bad", "-j", "over")
    assert (
        "State: Failed\n" in shown and "Reason: job aborted:" in shown and "exceed error_threshold=3" in shown
    )
    assert "First error:\n" in shown and "ValueError: bad row 7" in shown and "Traceback" in shown
    assert "Output (partial): " in shown and shown.count(".partial") == 1


def test_cancel_mid_job_stops_the_output_and_marks_it_partial(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", ROWS)
    control(cli_engine, sleep=0.2)
    create_parallel(cli_engine, "cancel", data, "mini_batch_size:256", "process_count_per_node:2")
    _run(cli_engine, "cancel", "j")
    wait_job(cli_engine, "cancel", "j", lambda j: j["Progress"]["BatchesDone"] >= 2)
    assert cli_engine.az_ok("service", "canceljob", "batch", "-n", "cancel", "-j", "j") == (
        "Job j of service cancel canceled.\n"
    )
    done = job(cli_engine, "cancel", "j")
    assert (
        done["State"] == "Cancelled" and done["Partial"] is True and done["OutputPath"].endswith(".partial")
    )
    partial = Path(done["OutputPath"])
    size = partial.stat().st_size
    assert 0 < size < len(expected(ROWS)) and expected(ROWS).startswith(partial.read_text())
    assert not partial.with_name("parallel_run_step.txt").exists()
    deadline = time.monotonic() + 10
    while worker_pids(cli_engine) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker_pids(cli_engine) == []
    time.sleep(1)
    assert partial.stat().st_size == size


def test_a_queued_job_waits_its_turn_and_can_be_cancelled_before_it_starts(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 100)
    control(cli_engine, sleep=0.3)
    create_parallel(cli_engine, "queue", data, "mini_batch_size:256")
    _run(cli_engine, "queue", "first")
    _run(cli_engine, "queue", "second")
    _run(cli_engine, "queue", "third")
    wait_job(cli_engine, "queue", "first", lambda j: j["State"] == "InProgress")
    assert job(cli_engine, "queue", "second")["State"] == "NotStarted"  # one job at a time by default
    cli_engine.az_ok("service", "canceljob", "batch", "-n", "queue", "-j", "second")
    second = job(cli_engine, "queue", "second")
    assert second["State"] == "Cancelled" and "DriverLogFile" not in second and "OutputPath" not in second
    assert cli_engine.az_ok("service", "showjob", "batch", "-n", "queue", "-j", "second") == (
        "Name: queue\nJobId: second\nState: Cancelled\n"
    )
    third = wait_job(cli_engine, "queue", "third", lambda j: j["State"] == "Succeeded")
    assert Path(third["OutputPath"]).read_text() == expected(100)


def test_daemon_killed_mid_job_resumes_it_after_restart_with_every_row_once(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", ROWS)
    control(cli_engine, sleep=0.1)
    create_parallel(cli_engine, "crash", data, "mini_batch_size:256", "process_count_per_node:2")
    work = cli_engine.work
    cli_engine.az_ok(
        "service",
        "create",
        "batch",
        "-f",
        "driver.py",
        "-n",
        "legacy",
        f"--in=--input-data:{data}",
        f"--out=--output-data:{work / 'legacy.txt'}",
        "--param=--threshold:1",
        "--param=--sleep:120",
        "-d",
        "helper.py",
        "-d",
        "lookup.txt",
    )
    _run(cli_engine, "crash", "j")
    wait_job(cli_engine, "crash", "j", lambda j: j["Progress"]["BatchesDone"] >= 4)
    os.kill(daemon_pid(cli_engine), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while worker_pids(cli_engine) and time.monotonic() < deadline:  # the workers' watchdog ends them
        time.sleep(0.1)
    assert worker_pids(cli_engine) == []
    # the next command starts the daemon again: the job is resumed, not restarted and not left InProgress
    done = wait_job(cli_engine, "crash", "j", lambda j: j["State"] not in ("NotStarted", "InProgress"))
    assert done["State"] == "Succeeded" and Path(done["OutputPath"]).read_text() == expected(ROWS)
    log = Path(done["DriverLogFile"][len("file://") :]).parent / "job_progress_overview.txt"
    assert log.exists()
    # a legacy driver cannot be resumed: after a crash it is failed with the reason, and no driver is left
    _run(cli_engine, "legacy", "slow")
    wait_job(cli_engine, "legacy", "slow", lambda j: j["State"] == "InProgress")
    time.sleep(0.5)
    drivers = [p for p, cmd in cli_engine.processes().items() if "driver_shim.py" in cmd]
    assert drivers
    os.kill(daemon_pid(cli_engine), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while any(p in cli_engine.processes() for p in drivers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(p in cli_engine.processes() for p in drivers)
    failed = job(cli_engine, "legacy", "slow")
    assert failed["State"] == "Failed" and "a legacy driver cannot be resumed" in failed["Message"]


def test_daemon_stop_suspends_a_running_job_and_the_next_start_resumes_it_then_runs_the_queued_one(
    cli_engine,
):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", ROWS)
    control(cli_engine, sleep=0.1)
    create_parallel(cli_engine, "stop", data, "mini_batch_size:256", "process_count_per_node:2")
    _run(cli_engine, "stop", "j")
    _run(cli_engine, "stop", "queued")  # waits for the one job slot
    wait_job(cli_engine, "stop", "j", lambda j: j["Progress"]["BatchesDone"] >= 4)
    left = cli_engine.shutdown()
    assert left == {}, left  # daemon and workers gone
    done = wait_job(cli_engine, "stop", "j", lambda j: j["State"] not in ("NotStarted", "InProgress"))
    assert done["State"] == "Succeeded" and Path(done["OutputPath"]).read_text() == expected(ROWS)
    queued = wait_job(cli_engine, "stop", "queued", lambda j: j["State"] not in ("NotStarted", "InProgress"))
    assert queued["State"] == "Succeeded" and Path(queued["OutputPath"]).read_text() == expected(ROWS)
