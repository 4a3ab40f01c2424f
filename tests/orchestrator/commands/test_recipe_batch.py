"""`mlops recipe churn-batch` against cassettes in the batch transcripts' formats (issue 9, item 5): the
batch-scoring example's flow, idempotent re-runs (a new job, nothing else), a failed job's reason, and a
transient error retried through the runner's policy."""

from __future__ import annotations

import sqlite3

from orchestrator import paths


def test_fresh_run_creates_the_folders_service_pipeline_and_scores_every_row(cli):
    run = cli.run(["recipe", "churn-batch"], "recipe/churn-batch")
    assert run.exit_code == 0, run.stderr
    home = paths.home()
    for line in (
        "created: environment mlopsenv (cluster mode) in eastus2: provisioning submitted",
        (
            f"created: batch input folder {home}/staging/churnbatch/batch/input (CATelcoCustomerChurnTrainingSample.csv,"
            f" 20,468 rows) and output folder {home}/staging/churnbatch/batch/output"
        ),
        "created: batch service churnbatch (batch_score.py with score.py and model.pkl, parallel contract)",
        "created: published pipeline churn-batch-scoring (id 0c4e7a1d-5b2f-4e9a-8d3c-6f1a2b3c4d5e)",
        "created: batch job 2026-11-29_131408 on service churnbatch (20,468 rows)",
        (
            "predictions: <MLOPS_HOME>/staging/churnbatch/batch/output/2026-11-29_131408/parallel_run_step.txt "
            "(20,468 rows, one per input row, in input order)"
        ),
    ):
        assert line in run.stdout, run.stdout
    assert run.sleeps == [
        30,
        2,
        2,
    ]  # env show Creating -> Succeeded; showjob NotStarted, InProgress, Succeeded
    staged = home / "staging" / "churnbatch" / "batch"
    assert (staged / "input" / "CATelcoCustomerChurnTrainingSample.csv").stat().st_size > 2_000_000
    assert sorted(p.name for p in (staged / "service").iterdir()) == [
        "batch_score.py",
        "model.pkl",
        "score.py",
    ]
    db = sqlite3.connect(paths.journal_db())
    kinds = dict(db.execute("SELECT kind, state FROM resources").fetchall())
    assert kinds == {
        "environment": "created",
        "batch-service": "created",
        "pipeline": "created",
        "batch-job": "created",
    }


def test_rerun_creates_nothing_but_a_new_job(cli):
    assert cli.run(["recipe", "churn-batch"], "recipe/churn-batch").exit_code == 0
    run = cli.run(["recipe", "churn-batch"], "recipe/churn-batch--rerun")
    assert run.exit_code == 0, run.stderr
    for what in (
        "environment mlopsenv",
        "batch input folder",
        ("batch service churnbatch (entry script, score.py and model unchanged)"),
        "published pipeline churn-batch-scoring",
    ):
        assert f"exists: {what}" in run.stdout
    assert [line for line in run.stdout.splitlines() if line.startswith("created:")] == [
        "created: batch job 2026-11-29_140112 on service churnbatch (20,468 rows)"
    ]


def test_a_changed_model_replaces_the_batch_service(cli):
    """The journal records what the service was created from: other files or another model re-create it."""
    assert cli.run(["recipe", "churn-batch"], "recipe/churn-batch").exit_code == 0
    db = sqlite3.connect(paths.journal_db())
    with db:
        db.execute("UPDATE resources SET resource_id = 'an earlier model' WHERE kind = 'batch-service'")
    run = cli.run(["recipe", "churn-batch"], "recipe/churn-batch--model-changed")
    assert run.exit_code == 0, run.stderr
    assert "created: batch service churnbatch" in run.stdout
    assert "exists: published pipeline churn-batch-scoring" in run.stdout


def test_a_failed_job_reports_the_reason_and_the_first_traceback(cli):
    run = cli.run(["recipe", "churn-batch"], "recipe/churn-batch--job-failed")
    assert run.exit_code == 1
    assert "batch job 2026-11-29_131408 of service churnbatch ended in state Failed" in run.stderr
    assert "job aborted: 1706 failed rows exceed error_threshold=0" in run.stderr
    assert "ValueError: could not convert string to float: 'n/a'" in run.stderr
    assert run.sleeps == [30, 2]  # a terminal failure is never retried


def test_a_connection_error_while_polling_is_retried(cli):
    run = cli.run(["recipe", "churn-batch"], "recipe/churn-batch--transient-retry")
    assert run.exit_code == 0, run.stderr
    assert run.sleeps == [30, 2, 2.0]  # env poll; job poll; TRANSIENT_AZ backoff (jitter off), then Succeeded
    assert "predictions: " in run.stdout
