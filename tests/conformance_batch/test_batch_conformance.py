"""Conformance of the batch commands: the 72 genuine `az ml service ... batch` transcripts replayed in order
against a real engine (tests/conformance does the same for the realtime ones).

The recording session ran against an HDInsight SparkBatch app with pre-existing state; SETUP creates the local
equivalents before the transcript that needs them: a current environment, and the recording's jobs where the
engine refused the recorded submission (they lacked the required --max-rows), plus a job that holds the engine's
one job slot from 40 to 83 (the recording's busy cluster: the transcripts show those jobs NotStarted). Each
transcript not reproduced is listed in promises.PROMISES with its reason, and the fixed behaviour is checked.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conformance_batch.harness import FIXTURES, all_transcripts, argv_of, normalize_batch
from tests.conformance_batch.promises import PROMISES, Replayed


class Engine:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.work = root / "work"
        shutil.copytree(FIXTURES, self.work)
        self.env = {
            **os.environ,
            "MLOPS_HOME": str(self.home),
            "COLUMNS": "80",
            "PYTHONWARNINGS": "ignore",
            "MLOPS_BATCH_POLL_INTERVAL": "0.1",
            "MLOPS_BATCH_CONCURRENT_JOBS": "1",
        }
        self.env.pop("MLOPS_DAEMON_PORT", None)

    def az(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlops_engine", "ml", *argv],
            check=False,
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def az_ok(self, *argv: str) -> str:
        proc = self.az(list(argv))
        assert proc.returncode == 0, f"setup command failed: {argv}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def wait(self, service: str, job: str, states: tuple[str, ...]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = self.az_ok("service", "showjob", "batch", "-n", service, "-j", job)
            if re.search(r"^State: (\w+)$", out, re.MULTILINE).group(1) in states:  # type: ignore[union-attr]
                return
            time.sleep(0.1)
        raise AssertionError(f"job {service}/{job} never reached {states}")

    def job(self, service: str, name: str, *params: str) -> None:
        self.az_ok("service", "run", "batch", "-n", service, "-j", name, *params)


def _setup(engine: Engine, name: str) -> None:
    """The recording session's state before transcript `name` (see the module docstring)."""
    w = engine.work
    if name == "11_list_missing_hdi_vars":
        engine.az_ok("env", "setup", "-n", "batchenv", "-l", "eastus2", "-g", "batchrg", "-y")
        deadline = time.monotonic() + 60
        while "Succeeded" not in engine.az_ok("env", "show", "-n", "batchenv", "-g", "batchrg"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        engine.az_ok("env", "set", "-n", "batchenv", "-g", "batchrg")
    elif name == "30_list":  # 24 created badsvc here; the recording's create failed
        engine.az_ok("service", "delete", "batch", "-n", "badsvc")
    elif name == "40_run":
        engine.az_ok("service", "create", "batch", "-f", "block.py", "-n", "blocker", "--param=--release")
        engine.job("blocker", "busy", f"--param=--release:{w / 'release'}")
        engine.wait("blocker", "busy", ("InProgress",))
    elif name == "42_run_default_jobname":
        engine.job(
            "foodinspect",
            "job1",
            "--in=--input-data:data/food_inspections2.csv",
            f"--out=--output-data:{w}/results/run1.parquet",
            "--param=--threshold:0.8",
            "--param=--max-rows:100",
        )
        engine.job(
            "foodinspect",
            "job2",
            f"--in=--input-data:{w}/data/big.csv",
            f"--out=--output-data:{w}/results/run2.parquet",
            "--param=--max-rows:100",
        )
    elif name == "45_run_missing_value":
        engine.job(
            "foodinspect", "failjob", f"--out=--output-data:{w}/results/run4.parquet", "--param=--max-rows:-1"
        )
        engine.job(
            "foodinspect",
            "job5",
            "--in=--input-data:data/food_inspections2.csv",
            f"--out=--output-data:{w}/results/run5.parquet",
            "--param=--max-rows:100",
        )
    elif name == "50_showjob_notstarted":
        engine.job(
            "foodinspect", "job3", f"--out=--output-data:{w}/results/x.parquet", "--param=--max-rows:100"
        )
    elif name == "83_list_after_delete":  # the busy cluster is free again
        (w / "release").touch()
        engine.wait("blocker", "busy", ("Succeeded",))
        engine.az_ok("service", "delete", "batch", "-n", "blocker")


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Replayed]:
    engine = Engine(tmp_path_factory.mktemp("conformance-batch"))
    results: dict[str, Replayed] = {}
    try:
        for t in all_transcripts():
            argv = argv_of(t, engine.work)
            try:
                _setup(engine, t.name)
            except Exception as exc:  # noqa: BLE001 - recorded as this transcript's failure; the others still run
                results[t.name] = Replayed(t, tuple(argv), "", "", -1, engine.work, setup_error=repr(exc))
                continue
            proc = engine.az(argv)
            results[t.name] = Replayed(t, tuple(argv), proc.stdout, proc.stderr, proc.returncode, engine.work)
    finally:
        subprocess.run(
            [sys.executable, "-m", "mlops_engine", "daemon", "stop"],
            check=False,
            env=engine.env,
            capture_output=True,
            timeout=60,
        )
    return results


def _same(r: Replayed) -> bool:
    t = r.transcript
    return (
        r.out() == normalize_batch(t.stdout)
        and r.err().strip() == normalize_batch(t.stderr).strip()
        and r.exit_code == t.exit_code
    )


@pytest.mark.parametrize("transcript", [t.name for t in all_transcripts()])
def test_transcript(replay: dict[str, Replayed], transcript: str) -> None:
    r = replay[transcript]
    assert r.setup_error is None, f"{transcript}: setup failed: {r.setup_error}"
    assert not re.search(r"^Traceback", r.stderr, re.MULTILINE), r.stderr
    if transcript in PROMISES:
        assert not _same(r), f"{transcript} is reproduced now: remove it from PROMISES"
        PROMISES[transcript].check(r)
        return
    t = r.transcript
    diff = "\n".join(
        difflib.unified_diff(
            normalize_batch(t.stdout).splitlines(), r.out().splitlines(), "recorded", "engine", lineterm=""
        )
    )
    assert r.out() == normalize_batch(t.stdout), f"$ {t.command}\n{diff}\n--- stderr ---\n{r.stderr}"
    assert r.err().strip() == normalize_batch(t.stderr).strip()
    assert r.exit_code == t.exit_code


REPRODUCED = (29, 72)  # raise it (and shrink PROMISES) when more are reproduced; never lower it silently


def test_batch_conformance_counts(replay: dict[str, Replayed]) -> None:
    ok = sum(_same(r) for r in replay.values())
    print(
        f"batch conformance: {ok}/{len(replay)} transcripts reproduced; {len(PROMISES)} differences, each "
        "with its reason (tests/conformance_batch/promises.py)"
    )
    assert len(replay) == 72 and ok + len(PROMISES) == len(replay)
    assert (ok, len(replay)) == REPRODUCED
