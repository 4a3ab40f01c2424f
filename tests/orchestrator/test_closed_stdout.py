"""A closed stdout never stops or fails the work (issue 8, item 7): `mlops ... | head -1`, a pager quit early.

Real child processes writing to a real pipe: either its read end is closed before the child starts (every
write fails with EPIPE), or the parent reads the first line and then closes it (what `head -1` does). The
work must finish (the cassette is played to the end, the journal records the deployment), the exit code
is the command's own, and nothing is printed about the broken pipe.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from orchestrator_testkit import REPO

from orchestrator import paths

HERE = Path(__file__).resolve().parent
UPDATE = ["update-service", "--model", "decision_tree"]


def _closed_pipe_run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run argv with stdout on a pipe nobody reads (read end closed first)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(argv, stdout=write_end, stderr=subprocess.PIPE, timeout=120, check=False)
    finally:
        os.close(write_end)


def _replay_argv(cassette: str, args: list[str], gate: Path | None = None) -> list[str]:
    extra = ["--gate", str(gate)] if gate else []
    return [sys.executable, str(HERE / "replay_main.py"), cassette, *extra, "--", *args]


def _deployments() -> list[tuple[int, str, str]]:
    db = sqlite3.connect(paths.journal_db())
    try:
        return db.execute("SELECT image_version, action, outcome FROM deployments ORDER BY id").fetchall()
    finally:
        db.close()


def test_update_service_into_a_pipe_closed_after_the_first_line(tmp_path):
    gate = tmp_path / "closed"
    proc = subprocess.Popen(
        _replay_argv("update-service/decision-tree", UPDATE, gate),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `head -1` exiting
    gate.touch()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert first.startswith(b"trained: decision_tree")
    assert stderr == ""  # no traceback, no "Exception ignored", no "bug in mlops"
    assert _deployments() == [(2, "update", "succeeded")]  # deployed and smoke-tested to the end


def test_update_service_with_stdout_closed_from_the_start():
    proc = _closed_pipe_run(_replay_argv("update-service/decision-tree", UPDATE))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    assert _deployments() == [(2, "update", "succeeded")]


def test_a_failure_keeps_its_exit_code_and_its_message_on_stderr():
    proc = _closed_pipe_run(_replay_argv("recipe/churn-deploy--image-failed", ["recipe", "churn-deploy"]))
    assert proc.returncode == 1
    assert b"error: image churnimage ended in state Failed" in proc.stderr
    assert b"Broken pipe" not in proc.stderr and b"bug in mlops" not in proc.stderr


@pytest.mark.parametrize(
    "args", [["history"], ["-o", "json", "history"], ["history", "--service", "churnpred"], ["validate"]]
)
def test_read_only_commands_into_a_closed_pipe(args):
    assert (
        subprocess.run(
            _replay_argv("recipe/churn-deploy", ["recipe", "churn-deploy"]), capture_output=True, check=False
        ).returncode
        == 0
    )  # something to show
    proc = _closed_pipe_run([sys.executable, str(REPO / "mlops.py"), *args])
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""


def test_json_history_read_partly_like_head(tmp_path):
    subprocess.run(
        _replay_argv("recipe/churn-deploy", ["recipe", "churn-deploy"]), check=True, capture_output=True
    )
    shell = f"{sys.executable} {REPO / 'mlops.py'} -o json history | head -2; exit ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '{\n  "version": 1,\n' and proc.stderr == ""
    full = subprocess.run([sys.executable, str(REPO / "mlops.py"), "-o", "json", "history"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(full.stdout)["data"]["deployments"][0]["action"] == "create"
