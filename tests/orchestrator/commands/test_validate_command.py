"""`mlops validate`: schema errors name the file and the JSON path; missing step inputs name the step; nothing runs.

An invalid recipe is a usage error: exit code 2, for `validate` as for the commands that run recipes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from orchestrator_testkit import REPO

from orchestrator import paths

HEAD = "version: 1\nname: x\nparams:\n  resource_group: rg\n  location: eastus2\n  service: {name: abc}\n"
PARAMS = (
    "  model: {kind: naive_bayes, name: naive_bayes}\n  manifest: {name: naive_bayes}\n  image: {name: img}\n"
    "  smoke: {data: '{}', expect: '0'}\n"
)


def _recipe(tmp_path, steps, params=""):
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + params + "steps:\n" + "".join(f"  - kind: {s}\n" for s in steps))
    return path


def test_bundled_recipes_are_valid(cli):
    run = cli.run(["validate"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout.count("ok: ") == 4  # churn-deploy, update-service, rollback, churn-batch


def test_invalid_recipe_names_file_and_path(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nname: bad\nparams:\n  resource_group: rg\n  location: eastus2\n"
        "  service: {name: churnpred, replicas: zero}\nsteps:\n  - kind: train\n  - kind: teleport\n"
    )
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 2
    assert f"{bad}: $.params.service.replicas: 'zero' is not of type 'integer'" in run.stderr
    assert f"{bad}: $.steps[1].kind: 'teleport' is not one of" in run.stderr


def test_step_needing_a_missing_section(cli, tmp_path):
    bad = tmp_path / "nomodel.yaml"
    bad.write_text(HEAD + "steps:\n  - kind: train\n")
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 2
    assert "$.steps[0].kind: step 'train' needs $.params.model, which is missing" in run.stderr


def test_a_step_without_its_input_is_rejected_naming_step_and_input(cli, tmp_path):
    bad = _recipe(tmp_path, ["service"], PARAMS)
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 2
    assert (
        f"{bad}: $.steps[0].kind: step 'service' needs a built image, which no earlier step provides "
        "(put a step of kind 'image' before it)" in run.stderr
    )


def test_steps_given_as_bare_kinds(cli, tmp_path):
    # `steps: [service]` (the short form) is checked like `steps: [{kind: service}]`
    bad = tmp_path / "short.yaml"
    bad.write_text(HEAD + PARAMS + "steps: [service]\n")
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 2
    assert f"{bad}: $.steps[0].kind: step 'service' needs a built image, which no earlier step provides" in run.stderr
    good = tmp_path / "good.yaml"
    good.write_text(HEAD + PARAMS + "steps: [smoke]\n")
    assert cli.run(["validate", str(good)]).exit_code == 0
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(HEAD + PARAMS + "steps: [teleport]\n")
    run = cli.run(["validate", str(unknown)])
    assert run.exit_code == 2 and "$.steps[0].kind: 'teleport' is not one of" in run.stderr


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["model"], "step 'model' needs a trained model file, which no earlier step provides"),
        (["train", "manifest"], "$.steps[1].kind: step 'manifest' needs a registered model"),
        (["train", "model", "image"], "$.steps[2].kind: step 'image' needs a manifest"),
        (
            ["image", "train", "model", "manifest"],
            (
                "step 'image' needs a manifest, which no earlier step provides "
                "(the 'manifest' step at $.steps[3] must come before it)"
            ),
        ),
    ],
)
def test_every_missing_input_is_named(cli, tmp_path, steps, expected):
    run = cli.run(["validate", str(_recipe(tmp_path, steps, PARAMS))])
    assert run.exit_code == 2
    assert expected in run.stderr


def test_optional_inputs_are_not_required(cli, tmp_path):
    # smoke uses a deployed service when an earlier step made one, else finds the service by name
    run = cli.run(["validate", str(_recipe(tmp_path, ["smoke"], PARAMS))])
    assert run.exit_code == 0, run.stderr
    run = cli.run(
        ["validate", str(_recipe(tmp_path, ["train", "model", "manifest", "image", "service"], PARAMS))]
    )
    assert run.exit_code == 0, run.stderr


def test_running_such_a_recipe_stops_before_anything_runs(cli, tmp_path):
    bad = _recipe(tmp_path, ["service"], PARAMS)
    run = cli.run(["recipe", "file", str(bad)])  # no cassette: any command would fail the test
    assert run.exit_code == 2
    assert "step 'service' needs a built image" in run.stderr
    assert "bug" not in run.stderr
    assert not paths.journal_db().exists()
    assert cli.run(["recipe", "file", str(bad), "--dry-run"]).exit_code == 2


def test_entry_script_exit_code_2(tmp_path):
    bad = _recipe(tmp_path, ["service"], PARAMS)
    proc = subprocess.run(
        [sys.executable, str(REPO / "mlops.py"), "validate", str(bad)],
        capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin", "MLOPS_HOME": str(tmp_path / "h")},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "step 'service' needs a built image" in proc.stderr


def test_not_yaml(cli, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("version: [1\n")
    run = cli.run(["validate", str(bad)])
    assert run.exit_code == 2 and "not valid YAML" in run.stderr


def test_override_is_validated(cli):
    run = cli.run(["validate", "churn-deploy", "--set", "environment.mode=cloud"])
    assert run.exit_code == 2
    assert (
        "(with --set overrides): $.params.environment.mode: 'cloud' is not one of ['cluster', 'local']"
        in run.stderr
    )
