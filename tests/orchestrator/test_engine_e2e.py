"""End to end on the local engine: churn-deploy, re-run, update-service, rollback, history.

Opt-in (real processes, real training, ~30 s): MLOPS_E2E=1 pytest tests/orchestrator/test_engine_e2e.py
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from orchestrator import paths
from orchestrator.cli import main
from orchestrator.output import Output
from orchestrator.session import Session

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MLOPS_E2E") != "1", reason="set MLOPS_E2E=1 to run against the local engine"),
]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    session = Session(az_prefix=(sys.executable, "-m", "mlops_engine"), out=Output("text", out, err))
    code = main(list(argv), session=session)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def engine(allow_real_runner):
    yield
    subprocess.run([sys.executable, "-m", "mlops_engine", "daemon", "stop"], env={**os.environ}, check=False,
                   capture_output=True, timeout=60)  # fmt: skip


def test_churn_lifecycle_on_the_local_engine(engine):
    code, out, err = run("recipe", "churn-deploy", "--set", "polling.env_interval_s=1")
    assert code == 0, err
    assert 'answered "0"' in out
    code, out, err = run("recipe", "churn-deploy")
    assert code == 0, err
    assert "created:" not in out
    code, out, err = run("update-service", "--model", "decision_tree")
    assert code == 0, err
    assert "to image churnimage:2 (was churnimage:1)" in out
    code, out, err = run("rollback", "--service", "churnpred")
    assert code == 0, err
    assert "to image churnimage:1" in out
    code, out, err = run("history", "-o", "json")
    rows = json.loads(out)["data"]["deployments"]
    assert [(r["imageVersion"], r["action"], r["outcome"]) for r in rows] == [
        (1, "create", "succeeded"), (2, "update", "succeeded"), (1, "rollback", "succeeded"),
    ]  # fmt: skip
    assert paths.journal_db().is_file()
