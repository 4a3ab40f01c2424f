"""`mlops rollback --service NAME [--to VERSION]` against cassettes."""

from __future__ import annotations

import json

from orchestrator import cassettes

ACCOUNT = json.dumps({"name": "mlopsacct", "resource_group": "mlopsrg", "location": "eastus2"}) + "\n"


def _ok(argv, stdout):
    return cassettes.Interaction(tuple(argv.split()), 0, stdout, "")


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
    # the cassette starts with `account modelmanagement set` and `env set`: the journal's location is selected
    assert (
        "selected: environment mlopsenv (account mlopsacct, resource group mlopsrg), "
        "where the journal recorded service churnpred" in run.stdout
    )
    rows = json.loads(cli.run(["history", "--output", "json"]).stdout)["data"]["deployments"]
    assert [(r["imageVersion"], r["action"]) for r in rows] == [(1, "create"), (2, "update"), (1, "rollback")]
    # the rollback row names the model image 1 was deployed with
    assert (rows[-1]["modelName"], rows[-1]["modelVersion"]) == ("naive_bayes", 1)
    table = cli.run(["history"]).stdout.splitlines()
    assert table[-1].split()[4:7] == ["naive_bayes", "v1", "rollback"]


def test_rollback_when_the_service_is_not_where_the_journal_says(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    sid = "churnpred.mlopsenv-3c9a1f7e.eastus2"
    interactions = [
        _ok("az ml account modelmanagement set -n mlopsacct -g mlopsrg", ACCOUNT),
        _ok("az ml env set -n mlopsenv -g mlopsrg", "Compute set to mlopsenv.\n"),
        cassettes.Interaction(
            tuple(f"az ml service show realtime -i {sid} -o json".split()),
            1,
            "",
            f"ERROR: Service {sid} not found.\n",
        ),
        _ok("az ml service show realtime -n churnpred -o json", "[]\n"),
    ]
    run = cli.run(["rollback", "--service", "churnpred"], interactions=interactions)
    assert run.exit_code == 1
    assert (
        "service churnpred not found in environment mlopsenv (account mlopsacct, resource group mlopsrg), "
        "where the journal recorded its last deployment; nothing to roll back" in run.stderr
    )


def test_rollback_when_the_journal_knows_nothing_names_what_to_do(cli):
    interactions = [_ok("az ml service show realtime -n churnpred -o json", "[]\n")]
    run = cli.run(["rollback", "--service", "churnpred"], interactions=interactions)
    assert run.exit_code == 1
    assert "the journal does not know where it was deployed" in run.stderr
    assert "az ml env set -n NAME -g GROUP" in run.stderr


def test_rollback_to_bad_value(cli):
    run = cli.run(
        ["rollback", "--service", "churnpred", "--to", "latest"],
        "rollback/to-version",
        check_all_played=False,
    )
    assert run.exit_code == 1
    assert "--to 'latest': expected an image version number or an image id" in run.stderr
