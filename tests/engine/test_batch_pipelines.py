"""Published pipelines and schedules (issue 9, item 4), through the CLI and the endpoint itself: a POST whose
ParameterAssignments really override the service's parameters, keys, disable/enable, and schedules that run
on time (a test-only short minute, MLOPS_SCHEDULE_MINUTE_S), never at creation, never two jobs at once, kept
across a daemon restart."""

from __future__ import annotations

import http.client
import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from .batch_kit import control, create_parallel, expected, job, setup, wait_job, write_csv


def _post(endpoint: str, body: object, key: str | None) -> tuple[int, dict]:
    url = urlsplit(endpoint)
    assert url.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    conn.request("POST", url.path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    data = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, data


def _jobs(engine, service: str) -> list[dict]:
    return engine.az_json("service", "listjobs", "batch", "-n", service)


def test_a_post_with_parameter_assignments_starts_a_job_that_uses_them(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 50)
    create_parallel(cli_engine, "scorer", data, "mini_batch_size:256", "--factor:1")
    published = cli_engine.az_json("pipeline", "publish", "-n", "nightly-scoring", "--service-name", "scorer")
    endpoint, pid = published["Endpoint"], published["Id"]
    assert published["State"] == "Active" and endpoint.endswith(f"/PipelineSubmit/{pid}")
    keys = cli_engine.az_json("pipeline", "keys", "--id", "nightly-scoring")
    status, answer = _post(
        endpoint, {"ExperimentName": "nightly", "ParameterAssignments": {"--factor": 5}}, keys["PrimaryKey"]
    )
    assert status == 200, answer
    name = answer["Id"]
    assert (
        name.startswith("nightly_")
        and answer["Status"] == "NotStarted"
        and answer["WebServiceId"] == "scorer"
    )
    done = wait_job(cli_engine, "scorer", name, lambda j: j["State"] == "Succeeded")
    assert done["Trigger"] == "endpoint" and done["ExperimentName"] == "nightly" and done["PipelineId"] == pid
    assert done["Parameters"] == {"--factor": "5"}
    assert Path(done["OutputPath"]).read_text() == expected(50, 5)  # the override was used, not the default 1
    status, answer = _post(endpoint, {"ExperimentName": "defaults"}, keys["SecondaryKey"])
    assert status == 200
    default = wait_job(cli_engine, "scorer", answer["Id"], lambda j: j["State"] == "Succeeded")
    assert Path(default["OutputPath"]).read_text() == expected(50, 1)
    # refused, never ignored
    for body, key, code, message in (
        ({"ExperimentName": "x"}, None, 401, "Missing or invalid key"),
        ({"ExperimentName": "x"}, "wrong", 401, "Missing or invalid key"),
        ({"ParameterAssignments": {}}, keys["PrimaryKey"], 400, "ExperimentName is required"),
        ({"ExperimentName": "bad name!"}, keys["PrimaryKey"], 400, "Invalid ExperimentName"),
        (
            {"ExperimentName": "x", "ParameterAssignments": {"--nope": "1"}},
            keys["PrimaryKey"],
            400,
            "unknown parameter --nope",
        ),
        ({"ExperimentName": "x", "DataPathAssignments": {"a": {}}}, keys["PrimaryKey"], 400, "not supported"),
    ):
        status, answer = _post(endpoint, body, key)
        assert (status, message in answer.get("message", "")) == (code, True), (body, status, answer)
    cli_engine.az_ok("pipeline", "disable", "--id", pid)
    status, answer = _post(endpoint, {"ExperimentName": "x"}, keys["PrimaryKey"])
    assert status == 409 and "is disabled" in answer["message"]
    cli_engine.az_ok("pipeline", "enable", "--id", pid)
    regenerated = cli_engine.az_json("pipeline", "keys", "--id", pid, "--regen", "primary")
    assert regenerated["PrimaryKey"] != keys["PrimaryKey"]
    assert _post(endpoint, {"ExperimentName": "x"}, keys["PrimaryKey"])[0] == 401
    # a published service cannot be deleted; the pipeline can
    refused = cli_engine.az("service", "delete", "batch", "-n", "scorer")
    assert refused.returncode == 1 and "is published as pipeline" in refused.stderr
    cli_engine.az_ok("pipeline", "delete", "--id", "nightly-scoring")
    assert cli_engine.az_json("pipeline", "list") == []
    assert _post(endpoint, {"ExperimentName": "x"}, regenerated["PrimaryKey"])[0] == 404


def test_a_schedule_every_minute_runs_twice_never_at_creation_and_survives_a_restart(cli_engine):
    cli_engine.env["MLOPS_SCHEDULE_MINUTE_S"] = "2"  # the daemon's schedule minute, for this test only
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 20)
    create_parallel(cli_engine, "timed", data, "mini_batch_size:256")
    cli_engine.az_ok("pipeline", "publish", "-n", "timed-pipeline", "--service-name", "timed")
    created = cli_engine.az_json(
        "pipeline",
        "create-schedule",
        "-n",
        "every-minute",
        "-i",
        "timed-pipeline",
        "-e",
        "scheduled",
        "-f",
        "Minute",
        "--interval",
        "1",
    )
    assert created["State"] == "Active" and created["LastJob"] is None
    time.sleep(1)
    assert _jobs(cli_engine, "timed") == []  # not at creation
    deadline = time.monotonic() + 60
    while len([j for j in _jobs(cli_engine, "timed") if j["State"] == "Succeeded"]) < 2:
        assert time.monotonic() < deadline, _jobs(cli_engine, "timed")
        time.sleep(0.2)
    jobs = _jobs(cli_engine, "timed")
    assert all(j["Trigger"] == "schedule" and j["ScheduleId"] == created["Id"] for j in jobs)
    shown = cli_engine.az_json("pipeline", "show-schedule", "-s", "every-minute")
    # started, or (a loaded machine: a job longer than the 2 s minute) skipped while its previous job ran
    assert re.match(
        r"(started|skipped: its previous) job scheduled_\d{8}_\d{6}_[0-9a-f]{6}", shown["LastOutcome"]
    )
    assert shown["NextRunTime"] > shown["LastRunTime"]
    # kept across a daemon restart: it runs again afterwards
    before = len(_jobs(cli_engine, "timed"))
    assert cli_engine.shutdown() == {}
    listed = cli_engine.az_json("pipeline", "list-schedules")
    assert [s["Name"] for s in listed] == ["every-minute"] and listed[0]["State"] == "Active"
    deadline = time.monotonic() + 60
    while len(_jobs(cli_engine, "timed")) <= before:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cli_engine.az_ok("pipeline", "disable-schedule", "-s", "every-minute")
    time.sleep(0.5)
    count = len(_jobs(cli_engine, "timed"))
    time.sleep(5)  # 2.5 schedule minutes: a disabled schedule starts nothing
    assert len(_jobs(cli_engine, "timed")) == count
    cli_engine.az_ok("pipeline", "delete-schedule", "-s", "every-minute")
    assert cli_engine.az_json("pipeline", "list-schedules") == []


def test_a_schedule_never_runs_two_jobs_at_once(cli_engine):
    cli_engine.env["MLOPS_SCHEDULE_MINUTE_S"] = "0.5"
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 60)
    control(cli_engine, sleep=0.5)  # a job takes several schedule minutes
    create_parallel(cli_engine, "slow", data, "mini_batch_size:256")
    cli_engine.az_ok("pipeline", "publish", "-n", "slow-pipeline", "--service-name", "slow")
    cli_engine.az_ok(
        "pipeline",
        "create-schedule",
        "-n",
        "often",
        "-i",
        "slow-pipeline",
        "-e",
        "often",
        "-f",
        "minute",
        "--run-now",
    )
    first = _jobs(cli_engine, "slow")
    assert len(first) == 1  # --run-now: once at creation, as asked
    outcomes, deadline = set(), time.monotonic() + 12
    while time.monotonic() < deadline:
        active = [j for j in _jobs(cli_engine, "slow") if j["State"] in ("NotStarted", "InProgress")]
        assert len(active) <= 1, active
        outcomes.add(
            cli_engine.az_json("pipeline", "show-schedule", "-s", "often")["LastOutcome"].split(" job")[0]
        )
        time.sleep(0.1)
    assert "skipped: its previous" in outcomes and "started" in outcomes
    cli_engine.az_ok("pipeline", "delete-schedule", "-s", "often")
    jobs = _jobs(cli_engine, "slow")
    ended = [j for j in jobs if j["State"] == "Succeeded"]
    assert ended and all(
        Path(job(cli_engine, "slow", j["Name"])["OutputPath"]).read_text() == expected(60) for j in ended
    )


def test_bad_schedules_are_refused_with_the_reason(cli_engine):
    setup(cli_engine)
    data = write_csv(cli_engine.work / "in.csv", 5)
    create_parallel(cli_engine, "svc", data)
    cli_engine.az_ok("pipeline", "publish", "-n", "p", "--service-name", "svc")
    base = ("pipeline", "create-schedule", "-n", "s", "-i", "p", "-e", "exp")
    for extra, message in (
        (
            ("-f", "Hourly"),
            "Invalid frequency 'Hourly': use one of Minute, Hour, Day, Week, Month (did you mean Hour?)",
        ),
        (("-f", "Hour", "--interval", "0"), "Invalid interval 0"),
        (("-f", "Day", "--start-time", "tomorrow"), "Invalid start time 'tomorrow'"),
        (("-f", "Day", "--param=--nope:1"), "unknown parameter --nope"),
        (("-f", "Day", "-i", "nosuch"), "Published pipeline 'nosuch' not found."),
    ):
        proc = cli_engine.az(*base, *extra)
        assert proc.returncode == 1 and message in proc.stderr, (extra, proc.stderr)
    assert cli_engine.az_json("pipeline", "list-schedules") == []
