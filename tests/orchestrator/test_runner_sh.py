"""The real ShRunner (opt-in: these tests run tiny local commands)."""

from __future__ import annotations

import sys

import pytest

from orchestrator.errors import BackendError, CommandFailed
from orchestrator.runner import ShRunner, clean_env


def test_guard_blocks_the_real_runner_by_default():
    from orchestrator_testkit import RealRunnerUsed

    with pytest.raises(RealRunnerUsed):
        ShRunner().run(["echo", "hi"])


def test_clean_env_keeps_only_the_listed_variables():
    env = clean_env(
        {
            "PATH": "/bin",
            "HOME": "/h",
            "AWS_SECRET": "x",
            "PYTHONHASHSEED": "0",
            "MLOPS_HOME": "/m",
            "LANG": "C",
        }
    )
    assert env["PATH"] == "/bin" and env["PYTHONHASHSEED"] == "0" and env["MLOPS_HOME"] == "/m"
    assert "AWS_SECRET" not in env
    assert "PYTHONPATH" not in env  # nothing injected: children import from the installed packages


def test_a_caller_s_own_pythonpath_passes_through():
    assert clean_env({"PATH": "/bin", "PYTHONPATH": "/mine"})["PYTHONPATH"] == "/mine"


def test_runs_and_captures(allow_real_runner, tmp_path):
    result = ShRunner().run(
        [sys.executable, "-c", "import os,sys; print(os.getcwd()); print('e', file=sys.stderr)"], cwd=tmp_path
    )
    assert result.exit_code == 0 and result.stdout.strip() == str(tmp_path) and result.stderr == "e\n"
    assert result.duration_s >= 0


def test_unexpected_exit_code_becomes_command_failed(allow_real_runner):
    with pytest.raises(CommandFailed) as info:
        ShRunner().run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert info.value.result.exit_code == 3 and info.value.result.stdout == "out\n"
    assert "exit code 3" in str(info.value)
    assert ShRunner().run([sys.executable, "-c", "import sys; sys.exit(3)"], ok_codes=(0, 3)).exit_code == 3


def test_missing_program_and_timeout_become_backend_errors(allow_real_runner):
    with pytest.raises(BackendError, match="command not found"):
        ShRunner().run(["definitely-not-an-az-binary"])
    with pytest.raises(BackendError, match="did not finish within 0.3s"):
        ShRunner().run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)


def test_secret_environment_is_not_inherited(allow_real_runner, monkeypatch):
    monkeypatch.setenv("SOME_TOKEN", "s3cret")
    result = ShRunner().run([sys.executable, "-c", "import os; print(os.environ.get('SOME_TOKEN'))"])
    assert result.stdout.strip() == "None"
