"""Step contracts: every need can be met, the bundled recipes are sound, and a step cannot read, provide or
forget a product against its declaration. Also where a manifest's scoring file is found."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from orchestrator import dataflow, recipes
from orchestrator.context import Context, Options, UndeclaredProduct
from orchestrator.errors import MlopsError
from orchestrator.output import Output
from orchestrator.products import (
    BuiltImage,
    Contract,
    DeployedService,
    Products,
    RegisteredModel,
    ServiceLocation,
    TrainedModel,
)
from orchestrator.steps import REGISTRY
from orchestrator.steps.artifacts import scoring_source


def test_every_need_has_a_provider_and_every_params_section_exists():
    sections = set(recipes.Params.__dataclass_fields__)
    for kind, step in REGISTRY.items():
        assert step.kind == kind
        assert set(step.contract.params) <= sections, kind
        for needed in (*step.contract.needs, *step.contract.uses):
            assert dataflow.providers(needed), f"{kind} needs {needed.__name__}, which no step kind provides"


@pytest.mark.parametrize("name", ["churn-deploy", "update-service", "rollback"])
def test_bundled_recipes_are_sound(name):
    assert dataflow.problems(recipes.load(name)) == []


def test_all_problems_are_listed_in_step_order(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\nname: x\nparams: {resource_group: g, location: eastus2, service: {name: abc}}\n"
        "steps: [{kind: image}, {kind: service}]\n"
    )
    found = dataflow.problems(recipes.load(str(path)))
    assert found == [
        f"{path}: $.steps[0].kind: step 'image' needs $.params.image, which is missing",
        (
            f"{path}: $.steps[0].kind: step 'image' needs a manifest, which no earlier step provides "
            "(put a step of kind 'manifest' before it)"
        ),
    ]  # `service` is fine: the `image` step before it provides a built image


def _ctx(contract: Contract, kind: str = "test") -> Context:
    ctx = Context(
        recipe=recipes.load("churn-deploy"), az=None, runner=None, journal=None,  # type: ignore[arg-type]
        out=Output("text", io.StringIO(), io.StringIO()), run_id=1, python=sys.executable,
    )  # fmt: skip
    ctx.enter(kind, contract)
    return ctx


def test_a_step_reads_only_what_it_declared():
    ctx = _ctx(Contract(needs=(BuiltImage,), uses=(RegisteredModel,)))
    ctx.products.put(BuiltImage("i1", "img", 1))
    assert ctx.need(BuiltImage) == BuiltImage("i1", "img", 1)
    assert ctx.use(RegisteredModel) is None
    with pytest.raises(UndeclaredProduct, match="reads TrainedModel without declaring it in needs"):
        ctx.need(TrainedModel)
    with pytest.raises(UndeclaredProduct, match="reads ServiceLocation without declaring it in uses"):
        ctx.use(ServiceLocation)


def test_a_missing_need_is_named_not_a_key_error():
    ctx = _ctx(Contract(needs=(BuiltImage,)), kind="service")
    with pytest.raises(
        UndeclaredProduct, match="step 'service' needs a built image, which no earlier step provided"
    ):
        ctx.need(BuiltImage)


def test_a_step_provides_what_it_declared_and_all_of_it():
    ctx = _ctx(Contract(provides=(DeployedService,)), kind="service")
    with pytest.raises(UndeclaredProduct, match="provides BuiltImage without declaring it"):
        ctx.provide(BuiltImage("i1", "img", 1))
    with pytest.raises(UndeclaredProduct, match="finished without providing DeployedService"):
        ctx.leave()
    ctx.provide(DeployedService("s1", 7))
    ctx.leave()
    assert ctx.products.as_json() == {"service_id": "s1", "deployment_id": 7}


def test_products_replace_by_type_and_keep_their_first_position():
    p = Products()
    p.put(TrainedModel(Path("/s/model.pkl"), "abc"))
    p.put(BuiltImage("i2", "img", 2))
    p.put(DeployedService("s1", 1, previous_image_id="i0"))
    p.put(DeployedService("s1", 2, image_id="i0"))  # the automatic rollback after a failed smoke test
    assert p.as_json() == {
        "model_file": "/s/model.pkl", "model_sha256": "abc", "image_id": "i0", "image_name": "img",
        "image_version": 2, "service_id": "s1", "deployment_id": 2,
    }  # fmt: skip
    assert list(p.as_json()) == [
        "model_file", "model_sha256", "image_id", "image_name", "image_version", "service_id", "deployment_id"
    ]  # fmt: skip
    assert p.find(DeployedService) == DeployedService("s1", 2, image_id="i0") and RegisteredModel not in p


def test_options_are_typed():
    assert Options().to is None and Options(to="2").to == "2"


def test_scoring_file_absolute_beside_the_recipe_or_in_a_package(tmp_path):
    mine = tmp_path / "my_score.py"
    mine.write_text("def init(): pass\n")
    assert scoring_source(str(mine), Path("/elsewhere")) == mine
    assert scoring_source("my_score.py", tmp_path) == mine
    packaged = scoring_source("churn_model/score.py", tmp_path)
    assert packaged.is_file() and b"def run(" in packaged.read_bytes()
    with pytest.raises(MlopsError, match=r"scoring file 'nosuch/score.py' not found .* <package>/<file>"):
        scoring_source("nosuch/score.py", tmp_path)
    with pytest.raises(MlopsError, match="not found"):
        scoring_source("churn_model/nosuch.py", tmp_path)
