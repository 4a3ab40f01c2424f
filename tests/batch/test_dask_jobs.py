"""The Dask executor on a real local cluster of worker processes (127.0.0.1): same bytes as local, faults."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from mlops_engine.batch import BatchConfigError, ExecutorSpec, JobState

from .conftest import ECHO, alive, make_job, wait_until, write_csv, write_script

pytest.importorskip("distributed")

SLOW = """
    import time
    def run(mini_batch):
        time.sleep(0.05)
        return mini_batch[["id", "name"]]
"""


@pytest.fixture
def data(tmp_path):
    return write_csv(tmp_path / "in.csv", 600)


def _dask(cluster) -> ExecutorSpec:
    return ExecutorSpec("dask", cluster.scheduler_address)


def test_dask_output_is_byte_identical_to_local_1_and_2_processes(tmp_path, data, dask_cluster):
    script = write_script(tmp_path, ECHO)
    outputs = []
    for name, params, executor in (
        ("local1", ["process_count_per_node=1"], None),
        ("local2", ["process_count_per_node=2"], None),
        ("dask", [], _dask(dask_cluster)),
    ):
        result = make_job(tmp_path, script, [data], ["mini_batch_size=512", *params], name, executor).run()
        assert result.state == JobState.SUCCEEDED, result.first_error
        with open(result.output_path, "rb") as fh:
            outputs.append(fh.read())
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0].count(b"\n") == 600


def test_killing_a_dask_worker_mid_job_keeps_every_row_once(tmp_path, data, dask_cluster):
    script = write_script(tmp_path, SLOW.replace("0.05", "0.1"))
    job = make_job(tmp_path, script, [data], ["mini_batch_size=256"], "killed", _dask(dask_cluster))
    killed: list[int] = []
    children: set[int] = set()

    def kill_one(progress):
        if job.executor is None or killed or progress.batches_done < 3:
            return
        children.update(job.executor.worker_pids())
        pid = min(job.executor.dask_worker_pids().values())
        killed.append(pid)
        os.kill(pid, signal.SIGKILL)

    job.on_progress = kill_one
    result = job.run()
    assert killed and result.state == JobState.SUCCEEDED, result.first_error
    assert Path(result.output_path).read_text() == "".join(f"{i} row{i}\n" for i in range(600))
    for pid in children:  # workers of the killed Dask worker end too, and the others are stopped at job end
        wait_until(lambda pid=pid: not alive(pid), timeout=15)
    wait_until(lambda: len(dask_cluster.scheduler_info["workers"]) == 2, timeout=60)  # the nanny restarted it


def test_dask_enforces_run_invocation_timeout(tmp_path, data, dask_cluster):
    marker = tmp_path / "hung"
    script = write_script(
        tmp_path,
        """
        import os, sys, time
        from pathlib import Path
        def run(mini_batch):
            marker = Path(sys.argv[1])  # Dask workers do not share the test's environment: use `arguments`
            if 300 in set(mini_batch["id"]) and not marker.exists():
                marker.write_text(str(os.getpid()))
                time.sleep(600)
            return mini_batch[["id", "name"]]
    """,
    )
    job = make_job(
        tmp_path,
        script,
        [data],
        ["mini_batch_size=512", "run_invocation_timeout=1", "error_threshold=0", f"arguments={marker}"],
        "t",
        _dask(dask_cluster),
    )
    result = job.run()
    assert result.state == JobState.SUCCEEDED and "run_invocation_timeout=1" in result.first_error
    assert Path(result.output_path).read_text().count("\n") == 600
    assert not alive(int(marker.read_text()))


def test_dask_cancel_kills_running_mini_batches(tmp_path, data, dask_cluster):
    script = write_script(tmp_path, SLOW.replace("0.05", "0.3"))
    job = make_job(tmp_path, script, [data], ["mini_batch_size=256"], "c", _dask(dask_cluster))
    job.start()
    wait_until(lambda: job.progress().batches_done >= 2)
    pids = job.executor.worker_pids()
    job.cancel()
    result = job.wait(60)
    assert result is not None and result.state == JobState.CANCELLED and result.partial
    for pid in pids:
        wait_until(lambda pid=pid: not alive(pid), timeout=15)


def test_dask_without_address_or_unreachable_is_a_clear_error(tmp_path, data):
    script = write_script(tmp_path, ECHO)
    with pytest.raises(BatchConfigError, match="needs the scheduler address"):
        make_job(tmp_path, script, [data], [], "a", ExecutorSpec("dask"))
    from mlops_engine.batch.dask_executor import DaskExecutor

    with pytest.raises(BatchConfigError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", None, 1.0, connect_timeout=1)


def test_unreachable_scheduler_fails_the_job_with_the_reason(tmp_path, data):
    executor = ExecutorSpec("dask", "tcp://127.0.0.1:9", connect_timeout=1)
    result = make_job(tmp_path, write_script(tmp_path, ECHO), [data], [], "u", executor).run()
    assert (
        result.state == JobState.FAILED
        and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.message
    )
