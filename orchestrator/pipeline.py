"""Running a recipe's steps in order, with the journal, dry-run plans and automatic rollback."""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from orchestrator import dataflow, paths, runlock
from orchestrator.azcli import Az
from orchestrator.context import Context, JournalingRunner, Options
from orchestrator.errors import MlopsError, RollbackError
from orchestrator.journalfile import JournalCorrupt, open_journal, scratch_journal
from orchestrator.products import DeployedService
from orchestrator.recipes import Recipe
from orchestrator.result import FAILED, OK, Outcome, StepResult
from orchestrator.session import Session
from orchestrator.steps import REGISTRY


def plan(command: str, recipe: Recipe, session: Session, options: Options) -> Outcome:
    """`--dry-run`: every command in order, ids not known yet shown as <PLACEHOLDERS>; nothing runs."""
    out = session.out
    out.info(f"plan for recipe {recipe.name} ({recipe.path}); nothing is executed:")
    entries: list[dict[str, Any]] = []
    for step in recipe.steps:
        for call in REGISTRY[step.kind].plan(recipe, options):
            argv = (*session.az_prefix, *call.argv) if call.az else call.argv
            entries.append({"step": step.kind, "argv": list(argv), "note": call.note})
            line = f"  [{step.kind}] {shlex.join(argv)}"
            out.info(line + (f"    # {call.note}" if call.note else ""))
    return Outcome(command, {"recipe": recipe.name, "dryRun": True, "plan": entries}, tuple(out.messages))


def _run_step(ctx: Context, kind: str) -> StepResult:
    """One step under its contract: it reads only what it declared and provides what it promised."""
    step = REGISTRY[kind]
    ctx.enter(kind, step.contract)
    result = step.run(ctx)
    ctx.leave()
    return result


def execute(command: str, recipe: Recipe, session: Session, options: Options | None = None) -> Outcome:
    """Check the steps' inputs, run every step; on a failure after `service`, roll back if the recipe says so."""
    options = options or Options()
    dataflow.check(recipe)  # before anything runs, dry run included
    if session.dry_run:
        return plan(command, recipe, session, options)
    with runlock.hold(paths.home(), f"{session.prog} {command}"):
        return _execute(command, recipe, session, options)


def _execute(command: str, recipe: Recipe, session: Session, options: Options) -> Outcome:
    try:
        journal = open_journal(paths.journal_db())
    except JournalCorrupt as exc:
        if command != "rollback":
            raise
        session.out.info(f"warning: {exc}\nRolling back without the journal; this run is not recorded.")
        journal = scratch_journal()
    run_id = journal.start_run(
        command, recipe.name, {"params": recipe.params_dict(), "options": _options_json(options)}
    )
    journal.end_stale_runs(run_id)  # we hold the home's run lock: any other 'running' run was killed
    runner = JournalingRunner(session.runner, journal, run_id)
    az = Az(runner, session.az_prefix, sleep=session.sleep, clock=session.clock, jitter=session.jitter)
    ctx = Context(
        recipe=recipe, az=az, runner=runner, journal=journal, out=session.out, run_id=run_id,
        python=session.python, prog=session.prog, sleep=session.sleep, clock=session.clock, options=options,
    )  # fmt: skip
    results: list[StepResult] = []
    status = "interrupted"
    try:
        for step in recipe.steps:
            runner.step_id = journal.start_step(run_id, step.kind)
            try:
                result = _run_step(ctx, step.kind)
            except MlopsError as exc:
                journal.finish_step(runner.step_id, "failed", str(exc))
                raise
            journal.finish_step(runner.step_id, result.status, result.summary)
            results.append(result)
        status = "succeeded"
        _summary(ctx)  # while the journal is open: it records the show command
    except MlopsError as exc:
        status = "failed"
        errors = [str(exc)]
        deployed = ctx.products.find(DeployedService)
        if recipe.on_failure == "rollback" and deployed is not None and deployed.previous_image_id:
            errors = [_auto_rollback(ctx, exc, deployed.previous_image_id)]
        return Outcome(
            command, _data(recipe, run_id, results, ctx), tuple(session.out.messages), tuple(errors), FAILED
        )
    finally:
        journal.finish_run(run_id, status)
        journal.close()
    return Outcome(command, _data(recipe, run_id, results, ctx), tuple(session.out.messages), (), OK)


def _options_json(options: Options) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(options).items() if v is not None}


def _data(recipe: Recipe, run_id: int, results: list[StepResult], ctx: Context) -> dict[str, Any]:
    return {
        "recipe": recipe.name,
        "run": run_id,
        "steps": [r.as_dict() for r in results],
        "produced": ctx.products.as_json(),
    }


def _az_words(prefix: tuple[str, ...]) -> str:
    """How a user types the az the orchestrator ran: `az` when that is what PATH finds."""
    if prefix[1:] == ("-m", "mlops_engine"):
        script = Path(prefix[0]).with_name("az")
        if shutil.which("az") == str(script):
            return "az"
        try:
            return os.path.relpath(script)
        except ValueError:
            return str(script)
    return " ".join(shlex.quote(p) for p in prefix)


def _summary(ctx: Context) -> None:
    deployed = ctx.products.find(DeployedService)
    if deployed is None:
        return
    service_id = deployed.service_id
    name = ctx.recipe.params.service.name
    ctx.out.info(f"service {name} is live: {service_id}")
    shown = ctx.az.service_show(service_id, verbose=True)
    url = shown.scoring_uri if shown else None
    az = _az_words(ctx.az.prefix)
    smoke = ctx.recipe.params.smoke
    data = shlex.quote(smoke.data) if smoke else "'<JSON input>'"
    if url:
        ctx.out.info(f"  scoring URL: {url}")
    ctx.out.info(f"  score with the CLI: {az} ml service run realtime -i {service_id} -d {data}")
    if url:
        cluster = "/api/v1/service/" in url
        if cluster:
            ctx.out.info(f"  or with curl:       KEY=$({az} ml service keys realtime -i {service_id} | sed -n 's/^PrimaryKey: //p')")
        auth = ' -H "Authorization: Bearer $KEY"' if cluster else ""
        ctx.out.info(f'                      curl -X POST -H "Content-Type: application/json"{auth} --data {data} {url}')
    ctx.out.detail(f"  more: {az} ml service usage realtime -i {service_id}; {ctx.prog} history --service {name}")


def _auto_rollback(ctx: Context, failure: MlopsError, previous: str) -> str:
    """Redeploy the image the service had before this run, smoke-test it, and explain what happened."""
    name = ctx.recipe.params.service.name
    ctx.out.info(f"rolling back: service {name} to its previous image {previous} ({failure})")
    ctx.options = Options(to=previous)
    try:
        _run_step(ctx, "rollback")  # provides a new DeployedService: the smoke test then judges the rollback
        if ctx.recipe.params.smoke is not None:
            _run_step(ctx, "smoke")
    except MlopsError as exc:
        raise RollbackError(
            f"{failure}\nautomatic rollback of {name} to image {previous} FAILED: {exc}\n"
            f"The service may be running a broken image: try `{ctx.prog} rollback --service {name} --to {previous}`."
        ) from exc
    return (
        f"{failure}\nThe service was rolled back automatically to its previous image {previous}, "
        "which passed the smoke test."
    )
