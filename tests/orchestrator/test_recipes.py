"""Recipe loading: schema validation before anything runs, typed results, overrides."""

from __future__ import annotations

import json

import pytest

from orchestrator import paths, recipes
from orchestrator.errors import RecipeError
from orchestrator.steps import REGISTRY


def test_schema_has_id_and_step_kinds_match_registry():
    schema = json.loads(paths.schema_file("recipe.schema.json").read_text())
    assert schema["$id"].endswith("/recipe.schema.json")
    assert set(schema["$defs"]["step"]["properties"]["kind"]["enum"]) == set(REGISTRY)


def test_churn_deploy_defaults():
    r = recipes.load("churn-deploy")
    p = r.params
    assert (p.resource_group, p.location) == ("mlopsrg", "eastus2")
    assert p.account and p.account.name == "mlopsacct"
    assert p.environment and p.environment.name == "mlopsenv" and p.environment.cluster
    assert p.model and (p.model.kind, p.model.name) == ("naive_bayes", "naive_bayes")
    assert p.manifest and p.manifest.name == "naive_bayes"
    assert p.image and p.image.name == "churnimage"
    assert (p.service.name, p.service.replicas) == ("churnpred", 1)
    assert p.smoke and p.smoke.expect == '"0"'
    assert json.loads(p.smoke.data)["input_df"][0]["noadditionallines"] == "\\N"
    assert [s.kind for s in r.steps] == [
        "train",
        "schema",
        "account",
        "env",
        "env-set",
        "model",
        "manifest",
        "image",
        "service",
        "smoke",
    ]


def test_recipes_are_frozen():
    r = recipes.load("churn-deploy")
    with pytest.raises(AttributeError):
        r.params.service.name = "x"  # type: ignore[misc]


def test_overrides_are_typed_and_validated():
    r = recipes.load(
        "churn-deploy",
        ["service.name=churn2", "service.replicas=3", "environment.mode=local", "location=westcentralus"],
    )
    assert r.params.service == recipes.ServiceParams("churn2", 3)
    assert not r.params.environment.cluster and r.params.location == "westcentralus"
    with pytest.raises(RecipeError, match=r"\$\.params\.service\.replicas: 0 is less than the minimum of 1"):
        recipes.load("churn-deploy", ["service.replicas=0"])
    with pytest.raises(RecipeError, match="expected KEY=VALUE"):
        recipes.load("churn-deploy", ["service.name"])


def test_unknown_recipe_lists_bundled():
    with pytest.raises(RecipeError, match="bundled recipes: churn-batch, churn-deploy, rollback, update-service"):
        recipes.load("nope")


def test_error_names_file_and_json_path(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 2\nname: r\nparams: {resource_group: g, location: eastus2, service: {name: abc}, extra: 1}\nsteps: []\n"
    )
    with pytest.raises(RecipeError) as info:
        recipes.load(str(path))
    text = str(info.value)
    assert f"{path}: $.version: 1 was expected" in text
    assert f"{path}: $.params: Additional properties are not allowed ('extra' was unexpected)" in text
    assert f"{path}: $.steps: [] should be non-empty" in text
