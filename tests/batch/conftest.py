"""Fixtures for the batch engine tests: entry scripts written on the fly, CSV inputs, a real local Dask cluster."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from mlops_engine.batch import BatchJob, ExecutorSpec, ParallelJobSpec, settings_from_params


def write_script(folder: Path, body: str, name: str = "entry.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def write_csv(path: Path, rows: int, start: int = 0) -> Path:
    lines = ["id,name,value"] + [f"{i},row{i},{i * 0.5}" for i in range(start, start + rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# run() returns one line per row: "<id> <name>" (a DataFrame, written space-separated by append_row).
ECHO = """
    def init():
        global ready
        ready = True

    def run(mini_batch):
        assert ready
        return mini_batch[["id", "name"]]
"""


def make_job(
    tmp: Path,
    script: Path,
    inputs: list[Path],
    params: list[str],
    name: str = "job",
    executor: ExecutorSpec | None = None,
    **kwargs,
) -> BatchJob:
    spec = ParallelJobSpec(
        str(script),
        tuple(str(p) for p in inputs),
        str(tmp / f"{name}-out"),
        settings_from_params(params),
        executor=executor or ExecutorSpec(),
        **kwargs,
    )
    return BatchJob(name, tmp / f"{name}-dir", spec)


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@pytest.fixture(scope="session")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def no_leftover_workers():
    """Collects the worker pids a test saw; after it, each must be gone."""
    seen: set[int] = set()
    yield seen
    for pid in seen:
        wait_until(lambda pid=pid: not alive(pid), timeout=10)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    os.environ.pop("AZUREML_MODEL_DIR", None)
