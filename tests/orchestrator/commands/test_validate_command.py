"""`mlops validate`: schema errors name the file and the JSON path; nothing runs."""

from __future__ import annotations


def test_bundled_recipes_are_valid(cli):
    run = cli.run(["validate"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout.count("ok: ") == 3


def test_invalid_recipe_names_file_and_path(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nname: bad\nparams:\n  resource_group: rg\n  location: eastus2\n"
        "  service: {name: churnpred, replicas: zero}\nsteps:\n  - kind: train\n  - kind: teleport\n"
    )
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 1
    assert f"{bad}: $.params.service.replicas: 'zero' is not of type 'integer'" in run.stderr
    assert f"{bad}: $.steps[1].kind: 'teleport' is not one of" in run.stderr


def test_step_needing_a_missing_section(cli, tmp_path):
    bad = tmp_path / "nomodel.yaml"
    bad.write_text(
        "version: 1\nname: x\nparams:\n  resource_group: rg\n  location: eastus2\n  service: {name: abc}\nsteps:\n  - kind: train\n"
    )
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 1
    assert "$.steps[0].kind: step 'train' needs $.params.model, which is missing" in run.stderr


def test_not_yaml(cli, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("version: [1\n")
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 1 and "not valid YAML" in run.stderr


def test_override_is_validated(cli):
    run = cli.run(["validate", "churn-deploy", "--set", "environment.mode=cloud"])
    assert run.exit_code == 1
    assert (
        "(with --set overrides): $.params.environment.mode: 'cloud' is not one of ['cluster', 'local']"
        in run.stderr
    )
