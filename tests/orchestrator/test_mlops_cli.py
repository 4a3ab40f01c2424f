"""cli.main: dispatch, global options, exit codes 0/1/2/3/130 and the entry script."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest
from orchestrator_testkit import REPO, DefaultStateDirUsed

from orchestrator import paths
from orchestrator.cli import az_prefix, build_parser, main
from orchestrator.errors import BackendError
from orchestrator.output import Output
from orchestrator.session import Session


class Boom:
    def __init__(self, exc):
        self.exc = exc

    def run(self, argv, **kw):
        raise self.exc


def _session(runner=None):
    out, err = io.StringIO(), io.StringIO()
    return Session(az_prefix=("az",), out=Output("text", out, err), runner_factory=lambda: runner), out, err


def test_usage_error_is_exit_2(capsys):
    assert main(["update-service"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0


def test_bug_is_exit_3_with_traceback_log():
    session, _out, err = _session(Boom(ZeroDivisionError("oops")))
    assert main(["rollback", "--service", "churnpred"], session=session) == 3
    assert "this is a bug in mlops" in err.getvalue()
    (log,) = (paths.home() / "logs").glob("crash-*.log")
    text = log.read_text()
    assert (
        "ZeroDivisionError: oops" in text
        and "argv: rollback --service churnpred" in text
        and "Python" in text
    )


def test_ctrl_c_is_exit_130():
    session, _out, err = _session(Boom(KeyboardInterrupt()))
    assert main(["rollback", "--service", "churnpred"], session=session) == 130
    assert "interrupted" in err.getvalue()


def test_mlops_error_is_exit_1_with_one_message():
    session, _out, err = _session(Boom(BackendError("cannot run 'az': command not found")))
    assert main(["rollback", "--service", "churnpred"], session=session) == 1
    assert err.getvalue() == "error: cannot run 'az': command not found\n"


def test_invalid_recipe_is_exit_2_with_one_message():
    session, _out, err = _session()
    assert main(["recipe", "file", "/nonexistent/recipe.yaml"], session=session) == 2
    assert err.getvalue().startswith("error: /nonexistent/recipe.yaml: no such recipe file")


def test_json_error_envelope():
    session, out, _err = _session()
    assert main(["validate", "nope", "--output", "json"], session=session) == 2
    doc = json.loads(out.getvalue())
    assert doc["status"] == "usage_error" and doc["exitCode"] == 2
    assert "unknown recipe 'nope'" in doc["errors"][0]


def test_az_prefix_resolution(monkeypatch):
    assert az_prefix(None) == (sys.executable, "-m", "mlops_engine")
    monkeypatch.setenv("MLOPS_AZ", "/opt/az/bin/az")
    assert az_prefix(None) == ("/opt/az/bin/az",)
    assert az_prefix("python -m mlops_engine") == ("python", "-m", "mlops_engine")


def test_global_options_after_the_subcommand(cli):
    run = cli.run(["recipe", "churn-deploy", "--dry-run", "--az", "/usr/bin/az", "-o", "json"])
    doc = json.loads(run.stdout)
    assert doc["data"]["dryRun"] is True
    assert doc["data"]["plan"][2]["argv"][:4] == ["/usr/bin/az", "ml", "account", "modelmanagement"]


def test_default_state_dir_is_guarded(monkeypatch):
    monkeypatch.delenv("MLOPS_HOME")
    with pytest.raises(DefaultStateDirUsed):
        paths.journal_db()


def test_entry_script_only_calls_main(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MLOPS_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "mlops.py"), "validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok: ") == 4  # the bundled recipes
    proc = subprocess.run(
        [sys.executable, str(REPO / "mlops.py"), "rollback"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subparsers(sub))


def test_every_option_of_every_command_is_described():
    undocumented = [
        (name, action.dest)
        for name, sub in _subparsers(build_parser())
        for action in sub._actions
        if action.option_strings and not action.help
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["update-service"], ["the churn model to train and deploy", "the service to update",
                              "rolled back to the image it ran before", "override a recipe parameter"]),
        (["rollback"], ["the service to roll back", "the image to go back to: its version number",
                        "where the journal recorded it"]),
    ],
)  # fmt: skip
def test_help_of_update_service_and_rollback(capsys, command, expected):
    assert main([*command, "-h"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in expected:
        assert phrase in text
