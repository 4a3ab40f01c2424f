"""End to end on the local engine: `recipe churn-batch` next to a deployed realtime churn service.

Real processes, real training. The batch predictions for all 20,468 rows of the churn CSV, in input order, must
equal the realtime service's answers for the same rows (POSTed in chunks to its scoring URL, 127.0.0.1); a
re-run creates nothing new but the job; the published endpoint takes a POST that starts another job.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
from orchestrator_testkit import REPO

from orchestrator.cli import main
from orchestrator.output import Output
from orchestrator.session import Session

pytestmark = [pytest.mark.slow]
CSV = REPO / "churn_model" / "CATelcoCustomerChurnTrainingSample.csv"


def run(*argv: str) -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    session = Session(az_prefix=(sys.executable, "-m", "mlops_engine"), out=Output("text", out, err))
    code = main(list(argv), session=session)
    return code, out.getvalue(), err.getvalue()


def az(*argv: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_engine", "ml", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def post(url: str, body: object, key: str) -> object:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(
        "POST",
        parts.path,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    assert resp.status == 200, data
    return json.loads(data)


@pytest.fixture
def engine(allow_real_runner):
    yield
    subprocess.run(
        [sys.executable, "-m", "mlops_engine", "daemon", "stop"],
        env={**os.environ},
        check=False,
        capture_output=True,
        timeout=60,
    )


def test_churn_batch_predictions_equal_the_realtime_services_answers(engine):
    code, out, err = run("recipe", "churn-deploy", "--set", "polling.env_interval_s=1")
    assert code == 0, err
    url = out.split("scoring URL: ")[1].split()[0]
    service_id = out.split("service churnpred is live: ")[1].split()[0]
    key = az("service", "keys", "realtime", "-i", service_id).split("PrimaryKey: ")[1].split()[0]

    code, out, err = run("recipe", "churn-batch", "--set", "polling.env_interval_s=1")
    assert code == 0, err
    predictions = Path(out.split("predictions: ")[1].split(" (")[0])
    assert "(20,468 rows, one per input row, in input order)" in out
    batch = predictions.read_text().splitlines()
    assert len(batch) == 20468

    rows = pd.read_csv(CSV).to_dict("records")
    realtime: list[str] = []
    for start in range(0, len(rows), 2000):
        answer = post(url, {"input_df": rows[start : start + 2000]}, key)
        realtime += answer if isinstance(answer, list) else [answer]
    assert len(realtime) == 20468 and set(realtime) <= {"0", "1"}
    assert batch == realtime

    code, out, err = run("recipe", "churn-batch")  # a re-run: nothing new but the job
    assert code == 0, err
    created = [line for line in out.splitlines() if line.startswith("created:")]
    assert len(created) == 1 and created[0].startswith("created: batch job "), created
    assert (
        "exists: batch service churnbatch" in out and "exists: published pipeline churn-batch-scoring" in out
    )
    second = Path(out.split("predictions: ")[1].split(" (")[0])
    assert second != predictions and second.read_text().splitlines() == batch

    # the published endpoint: a POST starts a job with the pipeline's key
    pipeline = json.loads(az("pipeline", "show", "--id", "churn-batch-scoring", "-o", "json"))
    pkey = json.loads(az("pipeline", "keys", "--id", pipeline["Id"], "-o", "json"))["PrimaryKey"]
    started = post(pipeline["Endpoint"], {"ExperimentName": "from-rest"}, pkey)
    assert isinstance(started, dict) and started["WebServiceId"] == "churnbatch"
    waited = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops_engine",
            "ml",
            "service",
            "showjob",
            "batch",
            "-n",
            "churnbatch",
            "-j",
            started["Id"],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert waited.returncode == 0 and f"JobId: {started['Id']}" in waited.stdout
