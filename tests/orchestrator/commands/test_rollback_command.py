"""`mlops rollback --service NAME [--to VERSION]` against cassettes."""

from __future__ import annotations

import json


def test_rollback_without_journal_uses_service_show_and_image_list(cli):
    run = cli.run(["rollback", "--service", "churnpred"], "rollback/previous-from-service-show")
    assert run.exit_code == 0, run.stderr
    assert (
        "rolled back: service churnpred (id churnpred.mlopsenv-3c9a1f7e.eastus2) to image churnimage:1 "
        "(id 4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d)" in run.stdout
    )
    assert "smoke test passed" in run.stdout


def test_rollback_to_a_version(cli):
    run = cli.run(["rollback", "--service", "churnpred", "--to", "1"], "rollback/to-version")
    assert run.exit_code == 0, run.stderr
    assert "to image churnimage:1" in run.stdout


def test_rollback_after_update_uses_the_journal(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    assert (
        cli.run(
            ["update-service", "--model", "decision_tree"], "update-service/decision-tree--after-deploy"
        ).exit_code
        == 0
    )
    run = cli.run(["rollback", "--service", "churnpred"], "rollback/after-update")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(cli.run(["history", "--output", "json"]).stdout)["data"]["deployments"]
    assert [(r["imageVersion"], r["action"]) for r in rows] == [(1, "create"), (2, "update"), (1, "rollback")]


def test_rollback_to_bad_value(cli):
    run = cli.run(
        ["rollback", "--service", "churnpred", "--to", "latest"],
        "rollback/to-version",
        check_all_played=False,
    )
    assert run.exit_code == 1
    assert "--to 'latest': expected an image version number or an image id" in run.stderr
