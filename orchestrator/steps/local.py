"""Local steps: train the churn model and write its service schema (no az calls)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from orchestrator.context import Context, Options, sha256_file
from orchestrator.errors import MlopsError
from orchestrator.products import Contract, ServiceSchemaFile, TrainedModel
from orchestrator.recipes import Recipe
from orchestrator.result import PlannedCall, StepResult

TRAIN_TIMEOUT_S: Final = 30 * 60.0
STAGING: Final = "<MLOPS_HOME>/staging/{service}/{model}"


def _staging_placeholder(recipe: Recipe) -> str:
    model = recipe.params.model
    return STAGING.format(service=recipe.params.service.name, model=model.name if model else "none")


def train_argv(python: str, kind: str, outputs: str) -> tuple[str, ...]:
    return (python, "-m", "churn_model.train", "--model", kind, "--outputs", outputs)


def schema_argv(python: str, output: str) -> tuple[str, ...]:
    return (python, "-m", "churn_model.schema", "--output", output)


class Train:
    """`python -m churn_model.train --model KIND --outputs DIR` -> DIR/model.pkl (and its sha256)."""

    kind = "train"
    contract = Contract(params=("model",), provides=(TrainedModel,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        assert recipe.params.model
        return [
            PlannedCall(
                train_argv("python", recipe.params.model.kind, _staging_placeholder(recipe)), az=False
            )
        ]

    def run(self, ctx: Context) -> StepResult:
        model = ctx.recipe.params.model
        assert model is not None  # checked by recipes.validate_document
        staging = ctx.staging()
        staging.mkdir(parents=True, exist_ok=True)
        # Run in the staging directory: the churn_model package comes from the interpreter's installation,
        # and nothing is written where mlops happens to be started.
        ctx.runner.run(train_argv(ctx.python, model.kind, str(staging)), timeout=TRAIN_TIMEOUT_S, cwd=staging)
        model_file = staging / "model.pkl"
        if not model_file.is_file():
            raise MlopsError(f"training finished but wrote no {model_file}; check churn_model.train")
        digest = sha256_file(model_file)
        ctx.provide(TrainedModel(model_file, digest))
        ctx.out.info(f"trained: {model.kind} -> {model_file} (sha256 {digest[:12]})")
        return StepResult(self.kind, "done", f"trained {model.kind}", {"sha256": digest})


class Schema:
    """`python -m churn_model.schema --output DIR/service_schema.json`."""

    kind = "schema"
    contract = Contract(params=("model",), provides=(ServiceSchemaFile,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        return [
            PlannedCall(
                schema_argv("python", _staging_placeholder(recipe) + "/service_schema.json"), az=False
            )
        ]

    def run(self, ctx: Context) -> StepResult:
        staging = ctx.staging()
        staging.mkdir(parents=True, exist_ok=True)
        target = staging / "service_schema.json"
        ctx.runner.run(schema_argv(ctx.python, str(target)), timeout=TRAIN_TIMEOUT_S, cwd=staging)
        if not target.is_file():
            raise MlopsError(f"schema generation finished but wrote no {target}; check churn_model.schema")
        ctx.provide(ServiceSchemaFile(target))
        ctx.out.info(f"schema: {target}")
        return StepResult(self.kind, "done", "wrote service_schema.json", {"schema": str(target)})
