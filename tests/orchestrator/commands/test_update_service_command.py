"""`mlops update-service --model decision_tree` against cassettes."""

from __future__ import annotations

import json
import sqlite3

from orchestrator import paths


def test_update_to_decision_tree(cli):
    run = cli.run(["update-service", "--model", "decision_tree"], "update-service/decision-tree")
    assert run.exit_code == 0, run.stderr
    assert "created: model decision_tree version 1 (id 7a3c5e9b2d4f4e6a8c0b1d3f5e7a9c2b)" in run.stdout
    assert "created: image churnimage version 2 (id 9e1c3a5d-7f2b-4d6e-8a0c-2e4f6b8d0a1c)" in run.stdout
    assert (
        "updated: service churnpred (id churnpred.mlopsenv-3c9a1f7e.eastus2) to image churnimage:2 (was churnimage:1)"
        in run.stdout
    )
    assert "smoke test passed" in run.stdout


def test_failing_smoke_test_rolls_back_by_itself(cli):
    run = cli.run(
        ["update-service", "--model", "decision_tree"], "update-service/decision-tree--smoke-fails-rollback"
    )
    assert run.exit_code == 1
    assert (
        "smoke test of churnpred.mlopsenv-3c9a1f7e.eastus2 failed: expected '\"0\"', got '\"1\"'"
        in run.stderr
    )
    assert (
        "rolled back automatically to its previous image 4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d" in run.stderr
    )
    assert "rolled back: service churnpred" in run.stdout
    history = cli.run(["history", "--service", "churnpred", "--output", "json"])
    rows = json.loads(history.stdout)["data"]["deployments"]
    assert [(r["imageVersion"], r["action"], r["outcome"]) for r in rows] == [
        (2, "update", "failed"),
        (1, "rollback", "succeeded"),
    ]


def test_update_service_with_other_service_name_is_validated(cli):
    run = cli.run(["update-service", "--model", "decision_tree", "--service", "Bad_Name", "--dry-run"])
    assert run.exit_code == 2  # an invalid recipe is a usage error
    assert "$.params.service.name" in run.stderr and "update-service.yaml" in run.stderr


def test_update_service_dry_run_uses_the_chosen_model(cli):
    run = cli.run(["update-service", "--model", "decision_tree", "--service", "churn2", "--dry-run"])
    assert run.exit_code == 0
    assert "az ml model register -m model.pkl -n decision_tree" in run.stdout
    assert "az ml service show realtime -n churn2 -o json" in run.stdout
    assert not paths.journal_db().exists()


def test_deploy_then_update_then_journal_history(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    assert (
        cli.run(
            ["update-service", "--model", "decision_tree"], "update-service/decision-tree--after-deploy"
        ).exit_code
        == 0
    )
    db = sqlite3.connect(paths.journal_db())
    assert db.execute("SELECT image_version, action, outcome FROM deployments ORDER BY id").fetchall() == [
        (1, "create", "succeeded"),
        (2, "update", "succeeded"),
    ]
