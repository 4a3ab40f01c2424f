"""Runs that share one MLOPS_HOME (issue 13, item 7): one run at a time, the journal migrated under its write
lock, rows left by killed runs settled against `service show -v`, and a damaged journal said as such."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator import paths
from orchestrator.journal import Deployment, Journal
from orchestrator.reconcile import Live, settlements
from orchestrator.runlock import HomeBusy, hold

SID = "churnpred.mlopsenv-3c9a1f7e.eastus2"
IMAGE_1 = "4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d"
IMAGE_2 = "9e1c3a5d-7f2b-4d6e-8a0c-2e4f6b8d0a1c"


HOLDER = (
    "import sys, time; from pathlib import Path; from orchestrator.runlock import hold\n"
    "with hold(Path(sys.argv[1]), 'mlops recipe churn-deploy'):\n"
    "    print('held', flush=True); time.sleep(60)"
)


def _open(path: str, barrier, results) -> None:
    barrier.wait()
    try:
        Journal(Path(path)).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports whatever a process hit
        results.put(repr(exc))


def test_first_runs_at_once_all_open_the_journal(tmp_path: Path):
    """Before the fix 16 of 20 rounds had a process fail with `table runs already exists`."""
    ctx = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(10):
        path = tmp_path / f"r{round_}" / "journal.db"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(str(path), barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failures += [r for r in (results.get(timeout=10) for _ in procs) if r != "ok"]
        assert Journal(path).version() == 3
    assert failures == []


def test_a_second_run_exits_at_once_naming_the_first(cli, tmp_path: Path):
    home = paths.home()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        run = cli.run(["recipe", "churn-deploy"], interactions=[])  # not one az call may be made
        assert run.exit_code == 1 and time.monotonic() - started < 10
        assert f"another mlops run is using {home}: `mlops recipe churn-deploy` (pid {holder.pid}, started " in run.stderr
        assert "run this command again when that one has finished" in run.stderr
        assert cli.run(["history"]).exit_code == 0  # read-only commands take no lock
        os.kill(holder.pid, signal.SIGKILL)  # the kernel drops a killed holder's lock: never stale
        holder.wait(10)
        with hold(home, "test") as me:
            assert me.pid == os.getpid()
            with pytest.raises(HomeBusy, match=f"`test` \\(pid {os.getpid()}"), hold(home, "second"):
                pass
    finally:
        holder.kill()
        holder.wait(10)


def _row(i: int, image: str, outcome: str, action: str = "update", run_id: int | None = None) -> Deployment:
    return Deployment(i, "svc", "svc", image, "img", i, None, None, "t", outcome, action, run_id=run_id or i)


def test_settlements():
    never = lambda run_id: False
    pending_latest = [_row(1, "a", "succeeded", "create"), _row(2, "b", "pending", "rollback")]
    assert [(s.deployment.id, s.outcome) for s in settlements(pending_latest, Live("b", "Succeeded"), never)] == [
        (2, "deployed")]
    assert [(s.deployment.id, s.outcome) for s in settlements(pending_latest, Live("a", "Succeeded"), never)] == [
        (2, "interrupted")]
    assert settlements(pending_latest, Live("a", "Updating"), never) == []  # the engine is still at it
    assert [s.outcome for s in settlements([_row(1, "a", "pending", "create")], Live(None, None), never)] == [
        "interrupted"]
    raced = [_row(1, "a", "succeeded", "create"), _row(2, "a", "failed", "create")]
    assert [(s.outcome, s.action) for s in settlements(raced, Live("a", "Succeeded"), never)] == [("deployed", "adopt")]
    raced_first = [_row(1, "a", "failed", "create"), _row(2, "a", "succeeded", "create")]
    assert [(s.outcome, s.action) for s in settlements(raced_first, Live("a", "Succeeded"), never)] == [
        ("deployed", "adopt")]
    timed_out = [_row(1, "a", "succeeded", "create"), _row(2, "b", "failed")]
    assert [(s.outcome, s.action) for s in settlements(timed_out, Live("b", "Succeeded"), never)] == [
        ("deployed", None)]
    assert settlements(timed_out, Live("b", "Succeeded"), lambda run_id: True) == []  # a failed smoke test stays
    assert settlements(timed_out, Live("a", "Succeeded"), never) == []  # the failed update did not take


def _killed_run(action: str, image_id: str, version: int) -> int:
    """What a run killed after writing its 'pending' row leaves in the journal."""
    journal = Journal(paths.journal_db())
    run_id = journal.start_run(action, action, {})
    dep = journal.record_deployment(
        service_name="churnpred", service_id=SID, image_id=image_id, image_name="churnimage", image_version=version,
        model_name=None, model_version=None, outcome="pending", action=action, run_id=run_id,
    )  # fmt: skip
    journal.close()
    return dep


def _history(cli) -> list[tuple[int, str, str]]:
    rows = json.loads(cli.run(["history", "--output", "json"]).stdout)["data"]["deployments"]
    return [(r["imageVersion"], r["action"], r["outcome"]) for r in rows]


def test_an_update_killed_after_it_was_sent_is_settled_as_deployed(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    _killed_run("update", IMAGE_2, 2)  # service show -v reports image 2: the update went through
    run = cli.run(["rollback", "--service", "churnpred"], "rollback/after-update")
    assert run.exit_code == 0, run.stderr
    assert "journal: update of churnpred to image churnimage:2 (row 2) was pending, now deployed" in run.stdout
    assert _history(cli) == [(1, "create", "succeeded"), (2, "update", "deployed"), (1, "rollback", "succeeded")]
    journal = Journal(paths.journal_db())
    statuses = [row[0] for row in journal._db.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["succeeded", "interrupted", "succeeded"]  # history is no run


def test_an_interrupted_rollback_does_not_stay_pending(cli):
    assert cli.run(["recipe", "churn-deploy"], "recipe/churn-deploy").exit_code == 0
    assert cli.run(["update-service", "--model", "decision_tree"], "update-service/decision-tree--after-deploy").exit_code == 0
    _killed_run("rollback", IMAGE_1, 1)  # killed before its update reached the engine: image 2 still runs
    run = cli.run(["rollback", "--service", "churnpred"], "rollback/after-update")
    assert run.exit_code == 0, run.stderr
    assert "journal: rollback of churnpred to image churnimage:1 (row 3) was pending, now interrupted" in run.stdout
    assert _history(cli) == [(1, "create", "succeeded"), (2, "update", "succeeded"), (1, "rollback", "interrupted"),
                             (1, "rollback", "succeeded")]


def test_a_damaged_journal_names_what_to_move_and_rollback_still_works(cli):
    journal_db = paths.journal_db()
    journal_db.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database" * 100
    journal_db.write_bytes(garbage)
    for argv in (["history"], ["recipe", "churn-deploy"]):
        run = cli.run(argv, interactions=[])
        assert run.exit_code == 1 and "this is a bug" not in run.stderr
        assert f"the journal {journal_db} is damaged (file is not a database)" in run.stderr
        assert f"mkdir {journal_db.parent}/journal-damaged-" in run.stderr and f"&& mv {journal_db} " in run.stderr
    run = cli.run(["rollback", "--service", "churnpred"], "rollback/previous-from-service-show")
    assert run.exit_code == 0, run.stderr
    assert "Rolling back without the journal; this run is not recorded." in run.stdout
    assert "rolled back: service churnpred" in run.stdout and "smoke test passed" in run.stdout
    assert journal_db.read_bytes() == garbage  # the user's file is never touched
