"""Journal: explicit migrations, scrubbed argv, intents and deployments."""

from __future__ import annotations

import sqlite3

import pytest

from orchestrator.errors import MlopsError
from orchestrator.journal import FORMAT_VERSION, MIGRATIONS, Journal, Location


def test_new_journal_is_at_current_version(tmp_path):
    j = Journal(tmp_path / "j.db")
    assert j.version() == FORMAT_VERSION == 3


def test_v1_journal_is_migrated_and_keeps_data(tmp_path):
    path = tmp_path / "j.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute(
        "INSERT INTO deployments (service_name, image_id, image_version, deployed_at, outcome) "
        "VALUES ('churnpred', 'img1', 1, '2026-01-01T00:00:00+00:00', 'succeeded')"
    )
    db.commit()
    db.close()
    j = Journal(path)
    assert j.version() == 3
    (d,) = j.deployments("churnpred")
    assert (d.image_id, d.action, d.image_name) == ("img1", "update", None)
    assert (d.resource_group, d.account, d.environment) == (None, None, None)
    assert j.location("churnpred") is None  # v1 rows never knew where they were deployed


def test_newer_journal_is_refused(tmp_path):
    path = tmp_path / "j.db"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version=99")
    db.commit()
    db.close()
    with pytest.raises(MlopsError, match="newer than this mlops"):
        Journal(path)


def test_calls_are_scrubbed(tmp_path):
    j = Journal(tmp_path / "j.db")
    run = j.start_run("x", None, {})
    call = j.start_call(
        run, None, ["az", "ml", "env", "setup", "-c", "-n", "e", "-l", "eastus2", "-p", "hunter2"]
    )
    assert j.calls(run) == [
        (["az", "ml", "env", "setup", "-c", "-n", "e", "-l", "eastus2", "-p", "REDACTED"], None)
    ]
    j.finish_call(call, 0)
    assert j.calls(run)[0][1] == 0


def test_intent_then_record_is_idempotent(tmp_path):
    j = Journal(tmp_path / "j.db")
    run = j.start_run("x", None, {})
    assert j.lookup("image", "k") is None
    j.intend("image", "k", run)
    assert j.lookup("image", "k") == (None, "pending")
    j.record("image", "k", "img", run)
    j.intend("image", "k", run)  # a later attempt keeps the id it knew
    assert j.lookup("image", "k") == ("img", "pending")
    j.record("image", "k", "img", run)
    assert j.lookup("image", "k") == ("img", "created")


def test_model_hash_and_deployment_sequence(tmp_path):
    j = Journal(tmp_path / "j.db")
    j.record_model_file("abc", "naive_bayes", "m1", 1)
    assert j.model_for_hash("abc", "naive_bayes") == "m1" and j.model_for_hash("abc", "decision_tree") is None
    common = {"service_name": "s", "image_name": "img", "model_name": "m", "model_version": 1, "run_id": None}
    first = j.record_deployment(
        service_id=None, image_id="i1", image_version=1, outcome="pending", action="create", **common
    )
    j.set_outcome(first, "succeeded", "s.env-1.eastus2")
    j.record_deployment(
        service_id="s.env-1.eastus2",
        image_id="i2",
        image_version=2,
        outcome="failed",
        action="update",
        **common,
    )
    assert [(d.image_id, d.outcome) for d in j.deployments("s")] == [("i1", "succeeded"), ("i2", "failed")]
    assert j.service_id("s") == "s.env-1.eastus2"


def test_location_and_model_of_image(tmp_path):
    j = Journal(tmp_path / "j.db")
    here = Location("rg", "acct", "env1")
    common = {"service_name": "s", "image_name": "img", "run_id": None, "service_id": "s.env1"}
    j.record_deployment(image_id="i1", image_version=1, model_name="nb", model_version=1, outcome="succeeded",
                        action="create", location=here, **common)  # fmt: skip
    j.record_deployment(image_id="i2", image_version=2, model_name="dt", model_version=1, outcome="succeeded",
                        action="update", location=Location("rg", "acct", "env2"), **common)  # fmt: skip
    j.record_deployment(image_id="i1", image_version=1, model_name=None, model_version=None,
                        outcome="succeeded", action="rollback", location=None, **common)  # fmt: skip
    assert j.location("s") == Location("rg", "acct", "env2")  # the latest row that knows
    assert j.location("other") is None
    assert j.model_of_image("i1") == ("nb", 1) and j.model_of_image("i2") == ("dt", 1)
    assert j.model_of_image("i3") is None
    assert [d.environment for d in j.deployments("s")] == ["env1", "env2", None]
