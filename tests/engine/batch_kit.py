"""Helpers of the engine's batch tests (tests/engine/test_batch_*.py): a local environment, inputs, the
fixture scripts, and reading jobs the way a user does (`az ml service showjob batch -o json`)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from .conftest import FIXTURES, CliEngine

BATCH = FIXTURES / "batch"


def setup(engine: CliEngine, poll: float = 0.1) -> None:
    """A local environment set as current (batch commands need one; no account is needed)."""
    engine.env["MLOPS_BATCH_POLL_INTERVAL"] = str(poll)
    engine.az_ok("env", "setup", "-n", "batchenv", "-l", "eastus2", "-g", "batchrg", "-y")
    deadline = time.monotonic() + 60
    while (
        engine.az_json("env", "show", "-n", "batchenv", "-g", "batchrg")["Provisioning State"] != "Succeeded"
    ):
        assert time.monotonic() < deadline, "environment not provisioned"
        time.sleep(0.1)
    engine.az_ok("env", "set", "-n", "batchenv", "-g", "batchrg")


def write_csv(path: Path, rows: int) -> Path:
    path.write_text("id,name,value\n" + "".join(f"{i},row{i},{i * 0.5}\n" for i in range(rows)))
    return path


def expected(rows: int, factor: int = 1) -> str:
    return "".join(f"{i} row{i} x{factor}\n" for i in range(rows))


def copy_fixtures(engine: CliEngine) -> Path:
    for f in BATCH.iterdir():
        shutil.copy(f, engine.work / f.name)
    return engine.work


def control(engine: CliEngine, **config: Any) -> Path:
    folder = engine.work / "control"
    folder.mkdir(exist_ok=True)
    (folder / "control.json").write_text(json.dumps(config))
    return folder


def create_parallel(
    engine: CliEngine, name: str, data: Path, *settings: str, extra: tuple[str, ...] = ()
) -> str:
    """A parallel service over `data` writing under work/out, steered by work/control."""
    copy_fixtures(engine)
    ctl = control(engine) if not (engine.work / "control").exists() else engine.work / "control"
    return engine.az_ok(
        "service",
        "create",
        "batch",
        "-f",
        "entry.py",
        "-n",
        name,
        "--contract",
        "parallel",
        f"--in=--input:{data}",
        f"--out=--output:{engine.work / 'out'}",
        f"--param=--control:{ctl}",
        *(f"--param={s}" for s in settings),
        *extra,
    )


def job(engine: CliEngine, service: str, name: str) -> dict[str, Any]:
    data = engine.az_json("service", "showjob", "batch", "-n", service, "-j", name)
    assert isinstance(data, dict)
    return data


def wait_job(engine: CliEngine, service: str, name: str, until: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = job(engine, service, name)
        if until(current):
            return current
        assert time.monotonic() < deadline, f"job {name} never reached the condition: {current}"
        time.sleep(0.1)


def worker_pids(engine: CliEngine) -> list[int]:
    return sorted(pid for pid, cmd in engine.processes().items() if "mlops_engine.batch.worker" in cmd)


def daemon_pid(engine: CliEngine) -> int:
    return int(engine.daemon_info()["pid"])
