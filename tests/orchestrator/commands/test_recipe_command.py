"""`mlops recipe churn-deploy` against cassettes (cluster mode, as Azure would answer)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from orchestrator import paths


def test_full_deploy_creates_everything_and_smoke_tests(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy")
    assert run.exit_code == 0, run.stderr
    for line in (
        "created: account mlopsacct in eastus2 (resource group mlopsrg)",
        "created: environment mlopsenv (cluster mode) in eastus2: provisioning submitted",
        "ready: environment mlopsenv (Succeeded)",
        "created: model naive_bayes version 1 (id 5d1b1c0e9f8a4b3c9d2e1f0a6b7c8d9e)",
        "created: image churnimage version 1 (id 4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d)",
        "created: service churnpred (id churnpred.mlopsenv-3c9a1f7e.eastus2) on image churnimage:1",
        'smoke test passed: churnpred.mlopsenv-3c9a1f7e.eastus2 answered "0"',
    ):
        assert line in run.stdout
    assert run.sleeps == [30, 30]  # env show: Creating, Creating, Succeeded at the recipe's interval


def test_rerun_creates_nothing(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--rerun")
    assert run.exit_code == 0, run.stderr
    assert "created:" not in run.stdout
    for what in (
        "account mlopsacct",
        "environment mlopsenv",
        "model naive_bayes version 1",
        "manifest naive_bayes",
        "image churnimage version 1",
        "service churnpred",
    ):
        assert f"exists: {what}" in run.stdout
    assert run.sleeps == []


def test_rerun_without_journal_finds_model_by_content_tag(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--rerun-without-journal")
    assert run.exit_code == 0, run.stderr
    assert "exists: model naive_bayes version 1" in run.stdout
    assert (
        "exists: service churnpred (id churnpred.mlopsenv-3c9a1f7e.eastus2) already runs image churnimage:1"
        in run.stdout
    )


class Killed(BaseException):
    """Stands in for kill -9: nothing after this point runs, no cleanup handler sees it."""


def test_killed_during_image_create_resumes_without_duplicates(cli):
    def die_after_image_create(argv, cwd):
        if argv[:4] == ("az", "ml", "image", "create"):
            raise Killed()

    with pytest.raises(Killed):
        cli.run(
            ["recipe", "churn-deploy"],
            "recipe/churn-deploy--killed-during-image",
            on_play=die_after_image_create,
        )
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--resume-after-kill")
    assert run.exit_code == 0, run.stderr
    assert "exists: image churnimage version 1" in run.stdout  # adopted via image list + show, not rebuilt
    assert "created: service churnpred" in run.stdout
    db = sqlite3.connect(paths.journal_db())
    assert db.execute("SELECT COUNT(*) FROM resources WHERE kind='image'").fetchone() == (1,)


def test_provisioning_failed_reports_the_environment_errors(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--provisioning-failed")
    assert run.exit_code == 1
    assert "environment mlopsenv ended in state Failed" in run.stderr
    assert "Resource quota limit exceeded." in run.stderr


def test_provisioning_that_never_finishes_times_out_with_last_state(cli):
    run = cli.run(
        ["recipe", "churn-deploy", "--set", "polling.env_timeout_s=60", "--set", "polling.env_interval_s=15"],
        "recipe/churn-deploy--provisioning-timeout",
    )
    assert run.exit_code == 1
    assert "environment mlopsenv did not finish within 60s (last state seen: Creating)" in run.stderr
    assert run.sleeps == [15, 15, 15, 15]


def test_image_build_failed_shows_the_build_log(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--image-failed")
    assert run.exit_code == 1
    assert (
        "image churnimage ended in state Failed: Image creation failed due to an error building the docker image."
        in run.stderr
    )
    assert "Log Information: https://mlcrpstg28d64569d5b9.blob.core.windows.net/logs/" in run.stderr
    assert run.sleeps == []  # an operation failure is never retried


def test_service_create_failed_shows_the_deployment_error(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--service-failed")
    assert run.exit_code == 1
    assert "service churnpred ended in state Failed: Kubernetes Deployment failed" in run.stderr
    assert "CrashLoopBackOff: Your container application crashed." in run.stderr
    assert run.sleeps == []


def test_transient_error_is_retried_with_backoff(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--transient-retry")
    assert run.exit_code == 0, run.stderr
    assert run.sleeps == [2.0, 4.0]  # TRANSIENT_AZ, jitter off: initial 2 s, doubling
    assert "smoke test passed" in run.stdout


def test_permanent_error_fails_at_once_with_the_cli_message(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--permanent-error")
    assert run.exit_code == 1
    assert run.sleeps == []
    assert (
        "az ml account modelmanagement create: Error occurred creating model management account.; The client"
        in run.stderr
    )
    assert "does not have authorization" in run.stderr


def test_garbled_output_names_the_command(cli):
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--garbled-output")
    assert run.exit_code == 1
    assert "unexpected output from `az ml model register`: no 'Id: ...' line" in run.stderr


def test_dry_run_prints_plan_and_runs_nothing(cli):
    run = cli.run(["recipe", "churn-deploy", "--dry-run", "--set", "service.name=churn2"])
    assert run.exit_code == 0
    lines = [line for line in run.stdout.splitlines() if line.startswith("  [")]
    assert lines[0].startswith("  [train] python -m churn_model.train --model naive_bayes")
    assert "  [image] az ml image create -n churnimage --manifest-id '<MANIFEST_ID>'" in lines
    assert "  [service] az ml service create realtime -n churn2 --image-id '<IMAGE_ID>' -z 1" in lines
    assert not paths.journal_db().exists()


def test_json_output_envelope(cli):
    run = cli.run(["recipe", "churn-deploy", "--output", "json"], "recipe/churn-deploy")
    doc = json.loads(run.stdout)
    assert doc["status"] == "succeeded" and doc["exitCode"] == 0 and doc["command"] == "recipe churn-deploy"
    assert doc["data"]["produced"]["service_id"] == "churnpred.mlopsenv-3c9a1f7e.eastus2"
    assert [s["kind"] for s in doc["data"]["steps"]][-1] == "smoke"
    assert "created: image churnimage version 1 (id 4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d)" in doc["messages"]


def test_journal_records_scrubbed_argv_and_exit_codes(cli):
    cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--image-failed")
    db = sqlite3.connect(paths.journal_db())
    calls = db.execute("SELECT argv, exit_code FROM calls ORDER BY id").fetchall()
    assert json.loads(calls[-1][0])[:4] == ["az", "ml", "image", "create"] and calls[-1][1] == 1
    assert db.execute("SELECT status FROM runs").fetchone() == ("failed",)
    assert db.execute("SELECT state FROM resources WHERE kind='image'").fetchone() == ("pending",)


def test_killed_during_manifest_create_adopts_the_manifest(cli):
    def die_after_manifest_create(argv, cwd):
        if argv[:4] == ("az", "ml", "manifest", "create"):
            raise Killed()

    with pytest.raises(Killed):
        cli.run(
            ["recipe", "churn-deploy"],
            "recipe/churn-deploy--killed-during-manifest",
            on_play=die_after_manifest_create,
        )
    run = cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy--resume-after-manifest-kill")
    assert run.exit_code == 0, run.stderr
    assert "exists: manifest naive_bayes version 1" in run.stdout
    assert "created: image churnimage version 1" in run.stdout
