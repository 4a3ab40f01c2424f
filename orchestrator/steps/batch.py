"""Batch steps (issue 9; the batch-scoring example of seeds 001 and 003): the input and output folders (the
example's data references), the batch service from the churn entry script, its published pipeline, and one
job over the input with `append_row`, polled to the end.

Idempotent as the example is: a re-run finds the folders, the service (same files, model and settings, as the
journal recorded them) and the pipeline, and creates nothing; the job is new on every run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from orchestrator import azbatch, paths
from orchestrator.azbatch import AzBatch
from orchestrator.azparse_batch import BatchJobInfo
from orchestrator.context import Context, Options, sha256_file
from orchestrator.errors import MlopsError
from orchestrator.products import (
    BatchFolders,
    BatchPredictions,
    BatchService,
    Contract,
    PublishedPipeline,
    TrainedModel,
)
from orchestrator.recipes import BatchParams, Recipe
from orchestrator.result import PlannedCall, StepResult
from orchestrator.retry import poll_until

DONE = ("Succeeded",)
FAILED = ("Failed", "Cancelled")


def locate(value: str, recipe_dir: Path, what: str) -> Traversable:
    """An absolute path, a path relative to the recipe's folder, or `<package>/<file>` of an installed package."""
    path = Path(value)
    if path.is_absolute():
        if path.is_file():
            return path
    elif (recipe_dir / path).is_file():
        return recipe_dir / path
    else:
        package, _, resource = value.partition("/")
        if resource and package.isidentifier() and importlib.util.find_spec(package) is not None:
            packaged = files(package).joinpath(resource)
            if packaged.is_file():
                return packaged
    raise MlopsError(f"{what} {value!r} not found: give a path, or <package>/<file> of an installed package")


def _folders(recipe: Recipe) -> tuple[Path, Path]:
    root = paths.work_dir(recipe.params.service.name, "batch")
    return root / "input", root / "output"


def _batch(recipe: Recipe) -> BatchParams:
    assert recipe.params.batch is not None  # the step contracts declare params.batch
    return recipe.params.batch


def _title(b: BatchParams, name: str) -> str:
    return b.title or f"{name}: churn batch scoring"


def _rows(path: Path) -> int:
    """Data rows of a CSV file: non-empty lines after the header."""
    with path.open("rb") as fh:
        return max(0, sum(1 for line in fh if line.strip()) - 1)


class BatchData:
    """The input folder (a copy of the file to score) and the output folder, under the recipe's staging."""

    kind = "batch-data"
    contract = Contract(params=("batch", "service"), provides=(BatchFolders,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        root = f"<MLOPS_HOME>/staging/{recipe.params.service.name}/batch"
        input_dir, output_dir = f"{root}/input", f"{root}/output"
        note = f"copy {_batch(recipe).input} into {input_dir}; output folder {output_dir}"
        return [PlannedCall(("mkdir", "-p", str(input_dir), str(output_dir)), az=False, note=note)]

    def run(self, ctx: Context) -> StepResult:
        source = locate(_batch(ctx.recipe).input, ctx.recipe.path.parent, "batch input (params.batch.input)")
        input_dir, output_dir = _folders(ctx.recipe)
        target = input_dir / source.name
        data = source.read_bytes()
        if target.is_file() and sha256_file(target) == hashlib.sha256(data).hexdigest():
            status = "exists"
        else:
            input_dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            status = "created"
        output_dir.mkdir(parents=True, exist_ok=True)
        rows = _rows(target)
        (ctx.exists if status == "exists" else ctx.created)(
            f"batch input folder {input_dir} ({target.name}, {rows:,} rows) and output folder {output_dir}"
        )
        ctx.provide(BatchFolders(target, output_dir, rows))
        return StepResult(self.kind, status, f"{rows} rows to score", {"input": str(target)})


class BatchServiceStep:
    """`service create batch` of the entry script with score.py and the trained model, unless it exists as is."""

    kind = "batch-service"
    contract = Contract(
        params=("batch", "service"), needs=(TrainedModel, BatchFolders), provides=(BatchService,)
    )

    @staticmethod
    def _argv_parts(
        b: BatchParams, folders_input: str, output: str
    ) -> tuple[list[str], list[str], list[str]]:
        params = [f"{name}:{value}" for name, value in b.settings]
        return [f"--input:{folders_input}"], [f"--output:{output}"], params

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        b, name = _batch(recipe), recipe.params.service.name
        inputs, outputs, params = self._argv_parts(b, "<INPUT_FILE>", "<OUTPUT_FOLDER>")
        argv = azbatch.batch_create_argv(
            name,
            Path(b.entry_script).name,
            b.title or name,
            inputs,
            outputs,
            params,
            [Path(b.scoring_file).name, "model.pkl"],
            b.dask_scheduler,
        )
        return [
            PlannedCall(azbatch.batch_show_argv(name), note="exists with these files? (journal)"),
            PlannedCall(argv),
        ]

    def run(self, ctx: Context) -> StepResult:
        b, name = _batch(ctx.recipe), ctx.recipe.params.service.name
        model, folders = ctx.need(TrainedModel), ctx.need(BatchFolders)
        here = ctx.recipe.path.parent
        entry = locate(b.entry_script, here, "entry script (params.batch.entry_script)")
        scoring = locate(b.scoring_file, here, "scoring file (params.batch.scoring_file)")
        inputs, outputs, params = self._argv_parts(b, str(folders.input_file), str(folders.output_dir))
        digest = hashlib.sha256()
        for part in (
            entry.read_bytes(),
            scoring.read_bytes(),
            model.model_sha256.encode(),
            repr((inputs, outputs, params, b.dask_scheduler)).encode(),
        ):
            digest.update(hashlib.sha256(part).digest())
        fingerprint = digest.hexdigest()
        batch = AzBatch(ctx.az)
        known = ctx.journal.lookup("batch-service", name)
        if batch.service_show(name) is not None and known is not None and known[0] == fingerprint:
            ctx.exists(f"batch service {name} (entry script, score.py and model unchanged)")
            ctx.provide(BatchService(name))
            return StepResult(self.kind, "exists", f"batch service {name}", {"batch_service": name})
        staging = paths.work_dir(name, "batch", "service")
        staging.mkdir(parents=True, exist_ok=True)
        for source, target in ((entry, entry.name), (scoring, scoring.name)):
            (staging / target).write_bytes(source.read_bytes())
        (staging / "model.pkl").write_bytes(model.model_file.read_bytes())
        ctx.journal.intend("batch-service", name, ctx.run_id)
        batch.service_create(
            name,
            str(staging / entry.name),
            b.title or f"{name}: churn batch scoring",
            inputs,
            outputs,
            params,
            [str(staging / scoring.name), str(staging / "model.pkl")],
            b.dask_scheduler,
        )
        ctx.journal.record("batch-service", name, fingerprint, ctx.run_id)
        ctx.created(
            f"batch service {name} ({entry.name} with {scoring.name} and model.pkl, parallel contract)"
        )
        ctx.provide(BatchService(name))
        return StepResult(self.kind, "created", f"batch service {name}", {"batch_service": name})


class Publish:
    """`pipeline publish` of the batch service, unless a pipeline of that name already publishes it."""

    kind = "publish"
    contract = Contract(params=("pipeline",), needs=(BatchService,), provides=(PublishedPipeline,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        p = recipe.params.pipeline
        assert p
        return [
            PlannedCall(azbatch.pipeline_show_argv(p.name), note="published already?"),
            PlannedCall(azbatch.pipeline_publish_argv(p.name, recipe.params.service.name, p.description)),
        ]

    def run(self, ctx: Context) -> StepResult:
        p = ctx.recipe.params.pipeline
        assert p is not None
        service = ctx.need(BatchService).batch_service
        batch = AzBatch(ctx.az)
        found = batch.pipeline_show(p.name)
        if found is not None and found.service != service:
            raise MlopsError(
                f"pipeline {p.name} already publishes batch service {found.service}, not {service}: "
                "choose another params.pipeline.name"
            )
        if found is not None:
            ctx.exists(f"published pipeline {p.name} (id {found.id})")
            status = "exists"
        else:
            ctx.journal.intend("pipeline", p.name, ctx.run_id)
            found = batch.pipeline_publish(p.name, service, p.description)
            ctx.journal.record("pipeline", p.name, found.id, ctx.run_id)
            ctx.created(f"published pipeline {p.name} (id {found.id})")
            status = "created"
        ctx.out.info(f"  endpoint: {found.endpoint}")
        ctx.out.detail(
            f'  POST {{"ExperimentName": "...", "ParameterAssignments": {{...}}}} with '
            f"'Authorization: Bearer <key>' (keys: az ml pipeline keys --id {found.id})"
        )
        ctx.provide(PublishedPipeline(found.id, found.name, found.endpoint))
        return StepResult(self.kind, status, f"pipeline {p.name}", {"pipeline_id": found.id})


class BatchJob:
    """`service run batch` over the input (a new job every run), `showjob` until it ends, then the predictions."""

    kind = "batch-job"
    contract = Contract(params=("service",), needs=(BatchService, BatchFolders), provides=(BatchPredictions,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        name = recipe.params.service.name
        return [
            PlannedCall(azbatch.batch_run_argv(name, ["--in=--input:<INPUT_FILE>"]), note="a new job"),
            PlannedCall(azbatch.batch_showjob_argv(name, "<JOB>"), note="repeated until the job ends"),
        ]

    def run(self, ctx: Context) -> StepResult:
        name = ctx.need(BatchService).batch_service
        folders = ctx.need(BatchFolders)
        polling = ctx.recipe.params.polling
        batch = AzBatch(ctx.az)
        job = batch.run(name, [f"--in=--input:{folders.input_file}"])
        ctx.journal.record("batch-job", f"{name}/{job}", job, ctx.run_id)
        ctx.created(f"batch job {job} on service {name} ({folders.rows:,} rows)")

        def progress(info: BatchJobInfo) -> None:
            if info.batches_total:
                ctx.out.detail(
                    f"  job {job}: {info.state}, mini-batches {info.batches_done}/{info.batches_total}"
                )
            else:
                ctx.out.detail(f"  job {job}: {info.state}")

        final = poll_until(
            lambda: batch.showjob(name, job),
            what=f"batch job {job} of service {name}",
            state_of=lambda info: info.state,
            errors_of=lambda info: tuple(x for x in (info.reason, info.first_error) if x),
            done=DONE,
            failed=FAILED,
            timeout=polling.job_timeout_s,
            interval=polling.job_interval_s,
            on_poll=progress,
            sleep=ctx.sleep,
            clock=ctx.clock,
        )
        if final.output is None or final.partial:
            raise MlopsError(
                f"batch job {job} succeeded but reports no complete output file ({final.output})"
            )
        if final.rows_done != folders.rows or final.rows_failed:
            raise MlopsError(
                f"batch job {job} scored {final.rows_done:,} of {folders.rows:,} rows "
                f"({final.rows_failed:,} failed); see az ml service showjob batch -n {name} -j {job}"
            )
        output, rows = Path(final.output), final.rows_done
        ctx.out.info(f"predictions: {output} ({rows:,} rows, one per input row, in input order)")
        ctx.provide(BatchPredictions(job, output, rows))
        return StepResult(
            self.kind, "done", f"job {job}: {rows} predictions", {"job": job, "predictions": str(output)}
        )
