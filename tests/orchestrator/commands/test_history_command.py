"""`mlops history`: table and JSON from the journal, no az calls."""

from __future__ import annotations

import json


def test_history_empty(cli):
    run = cli.run(["history"])
    assert run.exit_code == 0
    assert run.stdout == "no deployments recorded\n"  # and no empty table


def test_history_of_an_unknown_service_says_only_that(cli):
    cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy")
    run = cli.run(["history", "--service", "nosuch"])
    assert run.exit_code == 0
    assert run.stdout == "no deployments recorded for service nosuch\n"
    doc = json.loads(cli.run(["history", "--service", "nosuch", "-o", "json"]).stdout)
    assert doc["data"] == {"service": "nosuch", "deployments": []}


def test_history_table_after_deploy(cli):
    cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy")
    run = cli.run(["history", "--service", "churnpred"])
    lines = run.stdout.splitlines()
    assert lines[0].split() == [
        "Service",
        "Image",
        "Version",
        "Image",
        "ID",
        "Model",
        "Action",
        "Outcome",
        "Deployed",
        "at",
    ]
    assert lines[1].startswith("-------")
    assert lines[2].split()[:7] == [
        "churnpred",
        "churnimage",
        "1",
        "4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d",
        "naive_bayes",
        "v1",
        "create",
    ]


def test_history_json(cli):
    cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy")
    doc = json.loads(cli.run(["history", "-o", "json"]).stdout)
    assert doc["command"] == "history"
    (row,) = doc["data"]["deployments"]
    assert row["serviceId"] == "churnpred.mlopsenv-3c9a1f7e.eastus2" and row["outcome"] == "succeeded"
