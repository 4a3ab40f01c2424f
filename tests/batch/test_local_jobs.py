"""End-to-end parallel jobs on the local executor: ordering, accounting, faults, cancel, bad input."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from mlops_engine.batch import BatchConfigError, BatchInputError, JobState

from .conftest import ECHO, alive, make_job, wait_until, write_csv, write_script

PARAMS = ["mini_batch_size=512", "run_invocation_timeout=30"]


@pytest.fixture
def data(tmp_path):
    return write_csv(tmp_path / "in.csv", 600)


def _expected(rows: int) -> bytes:
    return "".join(f"{i} row{i}\n" for i in range(rows)).encode()


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_every_row_once_in_input_order_whatever_the_process_count(
    tmp_path, data, processes, no_leftover_workers
):
    script = write_script(tmp_path, ECHO)
    job = make_job(tmp_path, script, [data], [*PARAMS, f"process_count_per_node={processes}"])
    seen = no_leftover_workers
    job.on_progress = lambda p: seen.update(job.executor.worker_pids() if job.executor else [])
    result = job.run()
    assert result.state == JobState.SUCCEEDED and not result.partial
    assert result.output_path is not None and result.output_path.endswith("job-out/parallel_run_step.txt")
    with open(result.output_path, "rb") as fh:
        assert fh.read() == _expected(600)
    assert (result.items_done, result.items_failed, result.batches_failed) == (600, 0, 0)
    assert job.record.state == JobState.SUCCEEDED and job.record.batches_flushed == result.batches_total > 10
    logs = job.job_dir / "logs"
    assert "Succeeded" in (logs / "job_result.txt").read_text()
    assert (logs / "sys" / "node" / "0" / "process000.txt").read_text().count("attempt 1: ok") >= 1


def test_file_input_gets_paths_and_counts_files(tmp_path, no_leftover_workers):
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(7):
        (folder / f"f{i}.txt").write_text(f"content {i}")
    script = write_script(
        tmp_path,
        """
        import os
        def run(mini_batch):
            return [f"{os.path.basename(p)}: {open(p).read()}" for p in mini_batch]
    """,
    )
    result = make_job(tmp_path, script, [folder], ["mini_batch_size=3", "process_count_per_node=2"]).run()
    assert result.state == JobState.SUCCEEDED and (result.batches_total, result.items_done) == (3, 7)
    assert Path(result.output_path).read_text() == "".join(f"f{i}.txt: content {i}\n" for i in range(7))


def test_summary_only_writes_no_file_and_entry_script_helpers_work(tmp_path, data):
    script = write_script(
        tmp_path,
        """
        import sys
        from pathlib import Path
        from azureml_user.parallel_run import EntryScript

        def init():
            EntryScript().logger.info("init with %s", sys.argv[1:])

        def run(mini_batch):
            es = EntryScript()
            out = Path(es.output_dir) / f"{es.agent_name}-{mini_batch['id'].iloc[0]}.txt"
            out.write_text(str(len(mini_batch)))
            print("printed by run")
            return mini_batch
    """,
    )
    params = [*PARAMS, "output_action=summary_only", "process_count_per_node=1", "arguments=--model_name m1"]
    job = make_job(tmp_path, script, [data], params)
    result = job.run()
    assert result.state == JobState.SUCCEEDED and result.output_path is None and result.items_done == 600
    out = tmp_path / "job-out"
    assert not (out / "parallel_run_step.txt").exists()
    assert sum(int(p.read_text()) for p in out.glob("process000-*.txt")) == 600
    logs = job.job_dir / "logs" / "user"
    assert (
        "init with ['--model_name', 'm1']"
        in (logs / "entry_script_log" / "0" / "process000.log.txt").read_text()
    )
    assert "printed by run" in (logs / "stdout" / "0" / "process000.stdout.txt").read_text()


BAD_ROW = """
    def run(mini_batch):
        if (mini_batch["id"] == 123).any():
            raise ValueError("row 123 is bad")
        return mini_batch[["id", "name"]]
"""


def test_bad_row_under_threshold_job_succeeds_without_that_mini_batch(tmp_path, data):
    script = write_script(tmp_path, BAD_ROW)
    job = make_job(
        tmp_path,
        script,
        [data],
        [*PARAMS, "error_threshold=100", "run_max_try=2", "process_count_per_node=2"],
    )
    result = job.run()
    assert result.state == JobState.SUCCEEDED and result.batches_failed == 1
    failed = job.plan.batches[job.record.failed_batches[0]]
    assert failed.items == result.items_failed and 0 < result.items_failed <= 100
    lines = Path(result.output_path).read_text().splitlines()
    assert len(lines) == 600 - result.items_failed and "123 row123" not in lines
    assert lines == sorted(lines, key=lambda s: int(s.split()[0]))
    assert "ValueError: row 123 is bad" in result.first_error and "attempt 1/2" in result.first_error
    assert (job.job_dir / "logs" / "user" / "error.txt").read_text().count(
        "row 123 is bad"
    ) == 2  # both attempts


def test_bad_row_over_threshold_fails_the_job_with_the_traceback(tmp_path, data):
    script = write_script(tmp_path, BAD_ROW)
    job = make_job(
        tmp_path, script, [data], [*PARAMS, "error_threshold=5", "run_max_try=1", "process_count_per_node=2"]
    )
    result = job.run()
    assert result.state == JobState.FAILED and result.partial
    assert "exceed error_threshold=5" in result.message
    assert "Traceback" in result.first_error and "ValueError: row 123 is bad" in result.first_error
    assert result.output_path.endswith("parallel_run_step.txt.partial")
    assert not (tmp_path / "job-out" / "parallel_run_step.txt").exists()
    assert "row 123 is bad" in (job.job_dir / "logs" / "job_result.txt").read_text()


def test_fewer_results_than_rows_count_as_failures_like_azure_ml(tmp_path, data):
    script = write_script(tmp_path, "def run(mini_batch):\n    return list(mini_batch['id'])[:-1]\n")
    job = make_job(tmp_path, script, [data], [*PARAMS, "error_threshold=-1"])
    result = job.run()
    assert result.state == JobState.SUCCEEDED and result.items_failed == result.batches_total
    assert result.items_done == 600 - result.batches_total


def test_allowed_failed_count_counts_mini_batches(tmp_path, data):
    script = write_script(tmp_path, "def run(mini_batch):\n    raise RuntimeError('always')\n")
    job = make_job(
        tmp_path,
        script,
        [data],
        [*PARAMS, "allowed_failed_count=2", "run_max_try=1", "process_count_per_node=1"],
    )
    result = job.run()
    assert (
        result.state == JobState.FAILED
        and "3 failed mini-batches exceed allowed_failed_count=2" in result.message
    )


HANG_ONCE = """
    import os, time
    from pathlib import Path

    def run(mini_batch):
        marker = Path(os.environ["MARKER"])
        if 300 in set(mini_batch["id"]) and not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(600)
        return mini_batch[["id", "name"]]
"""


def test_hung_mini_batch_is_killed_at_the_timeout_and_retried(
    tmp_path, data, monkeypatch, no_leftover_workers
):
    marker = tmp_path / "hung-pid"
    monkeypatch.setenv("MARKER", str(marker))
    script = write_script(tmp_path, HANG_ONCE)
    job = make_job(
        tmp_path,
        script,
        [data],
        ["mini_batch_size=512", "run_invocation_timeout=1", "process_count_per_node=2"],
    )
    result = job.run()
    assert result.state == JobState.SUCCEEDED
    assert Path(result.output_path).read_bytes() == _expected(600)
    assert not alive(int(marker.read_text()))
    assert "did not return within run_invocation_timeout=1 s" in result.first_error


def test_mini_batch_hanging_every_time_fails_after_run_max_try(tmp_path, data):
    script = write_script(
        tmp_path,
        """
        import time
        def run(mini_batch):
            if 300 in set(mini_batch["id"]):
                time.sleep(600)
            return mini_batch[["id", "name"]]
    """,
    )
    job = make_job(
        tmp_path,
        script,
        [data],
        ["mini_batch_size=512", "run_invocation_timeout=0.5", "run_max_try=2", "error_threshold=0"],
    )
    result = job.run()
    assert result.state == JobState.FAILED and "exceed error_threshold=0" in result.message
    sys_log = "".join(p.read_text() for p in (job.job_dir / "logs" / "sys" / "node" / "0").glob("*.txt"))
    assert sys_log.count(": timeout in") == 2


SLOW = """
    import os, time
    def run(mini_batch):
        time.sleep(float(os.environ.get("SLOW", "0.05")))
        return mini_batch[["id", "name"]]
"""


def test_kill_9_of_a_worker_mid_job_retries_its_mini_batch_every_row_once(
    tmp_path, data, no_leftover_workers, monkeypatch
):
    monkeypatch.setenv("SLOW", "0.1")
    script = write_script(tmp_path, SLOW)
    job = make_job(tmp_path, script, [data], ["mini_batch_size=256", "process_count_per_node=2"])
    killed: list[int] = []

    def kill_one(progress):
        pids = job.executor.worker_pids() if job.executor else []
        no_leftover_workers.update(pids)
        if not killed and progress.batches_done >= 3 and pids:
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)

    job.on_progress = kill_one
    result = job.run()
    assert killed, "the job ended before a worker could be killed"
    assert result.state == JobState.SUCCEEDED
    assert Path(result.output_path).read_bytes() == _expected(600)
    assert "killed by signal 9" in result.first_error


def test_cancel_mid_job_stops_output_and_marks_it_partial(tmp_path, data, no_leftover_workers, monkeypatch):
    monkeypatch.setenv("SLOW", "0.2")
    script = write_script(tmp_path, SLOW)
    job = make_job(tmp_path, script, [data], ["mini_batch_size=256", "process_count_per_node=2"])
    job.start()
    wait_until(lambda: job.progress().batches_done >= 2)
    no_leftover_workers.update(job.executor.worker_pids())
    job.cancel()
    result = job.wait(60)
    assert result is not None and result.state == JobState.CANCELLED and result.partial
    partial = tmp_path / "job-out" / "parallel_run_step.txt.partial"
    size = partial.stat().st_size
    assert 0 < size < len(_expected(600)) and _expected(600).startswith(partial.read_bytes())
    assert not (tmp_path / "job-out" / "parallel_run_step.txt").exists()
    assert job.record.state == JobState.CANCELLED
    wait_until(lambda: all(not alive(p) for p in no_leftover_workers), timeout=10)
    assert partial.stat().st_size == size


def test_init_failure_fails_the_job_with_the_init_traceback(tmp_path, data):
    script = write_script(
        tmp_path, "def init():\n    raise ImportError('no model here')\ndef run(b):\n    return b\n"
    )
    result = make_job(tmp_path, script, [data], [*PARAMS, "process_count_per_node=1"]).run()
    assert result.state == JobState.FAILED and "init() of the entry script failed 2 times" in result.message
    assert "ImportError: no model here" in result.first_error


def test_bad_input_and_settings_are_refused_before_anything_runs(tmp_path, data):
    script = write_script(tmp_path, ECHO)
    with pytest.raises(BatchInputError, match="does not exist or is not accessible"):
        make_job(tmp_path, script, [tmp_path / "missing.csv"], PARAMS)
    with pytest.raises(BatchInputError, match="entry script .* does not exist"):
        make_job(tmp_path, tmp_path / "nope.py", [data], PARAMS)
    with pytest.raises(BatchInputError, match="is a folder"):
        make_job(tmp_path, tmp_path, [data], PARAMS)
    with pytest.raises(BatchConfigError, match="has no value"):
        make_job(tmp_path, script, [data], ["mini_batch_size"])
    (tmp_path / "job-out").mkdir()
    (tmp_path / "job-out" / "parallel_run_step.txt").write_text("keep me")
    with pytest.raises(BatchInputError, match="already exists"):
        make_job(tmp_path, script, [data], PARAMS)
    assert (tmp_path / "job-out" / "parallel_run_step.txt").read_text() == "keep me"


def test_more_results_than_rows_are_accepted_like_azure_ml_and_warned(tmp_path, data):
    script = write_script(tmp_path, "def run(mini_batch):\n    return list(mini_batch['id']) * 2\n")
    job = make_job(tmp_path, script, [data], [*PARAMS, "process_count_per_node=1"])
    result = job.run()
    assert result.state == JobState.SUCCEEDED and (result.items_done, result.items_failed) == (600, 0)
    assert Path(result.output_path).read_text().count("\n") == 1200
    overview = (job.job_dir / "logs" / "job_progress_overview.txt").read_text()
    pairs = re.findall(r"run\(\) returned (\d+) elements for (\d+) items", overview)
    assert len(pairs) == result.batches_total and all(int(a) == 2 * int(b) for a, b in pairs)


def test_a_worker_that_cannot_start_says_why(tmp_path, data):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'no interpreter here' >&2\nexit 5\n")
    python.chmod(0o755)
    job = make_job(
        tmp_path,
        write_script(tmp_path, ECHO),
        [data],
        [*PARAMS, "process_count_per_node=1"],
        python=str(python),
    )
    result = job.run()
    assert result.state == JobState.FAILED and "init() of the entry script failed" in result.message
    assert "died (exit code 5); its start-up log ends:\nno interpreter here" in result.first_error
