"""End to end on the local engine: churn-deploy, re-run, update-service, rollback, history.

Real processes, real training (~30 s). A bounded keep-alive load runs against the scoring URL (127.0.0.1)
during update-service and rollback: not one request may fail. As a newcomer would: update-service runs as
`python mlops.py update-service ... | head -1` (the reader goes away after one line), and before the rollback
the lab's commands switch the current account and environment.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Self

import pytest
from orchestrator_testkit import REPO

from orchestrator import paths
from orchestrator.cli import main
from orchestrator.output import Output
from orchestrator.session import Session

pytestmark = [pytest.mark.slow]

SAMPLE = json.dumps({"input_df": [{
    "age": 12, "annualincome": 168147, "calldroprate": 0.06, "callfailurerate": 0, "callingnum": 4251078442,
    "customerid": 1, "customersuspended": "Yes", "education": "Bachelor or equivalent", "gender": "Male",
    "homeowner": "Yes", "maritalstatus": "Single", "monthlybilledamount": 71, "noadditionallines": "\\N",
    "numberofcomplaints": 0, "numberofmonthunpaid": 7, "numdayscontractequipmentplanexpiring": 96,
    "occupation": "Technology Related Job", "penaltytoswitch": 371, "state": "WA", "totalminsusedinlastmonth": 15,
    "unpaidbalance": 19, "usesinternetservice": "No", "usesvoiceservice": "No", "percentagecalloutsidenetwork": 0.82,
    "totalcallduration": 5971, "avgcallduration": 663, "churn": 0, "year": 2015, "month": 1}]})


class Load:
    """Keep-alive POSTs from 3 threads until stopped (at most 60 s, 127.0.0.1 only); counts failures."""

    def __init__(self, url: str, key: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(3)]

    def _loop(self) -> None:
        conn = None
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                conn.request("POST", self.path, body=SAMPLE, headers=self.headers)
                resp = conn.getresponse()
                resp.read()
                good = resp.status == 200
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                with self.lock:
                    self.ok += good
                    self.failed += not good
                    if not good:
                        self.errors.append(f"HTTP {resp.status}")
            except OSError as exc:
                if conn is not None:
                    conn.close()
                conn = None
                with self.lock:
                    self.failed += 1
                    self.errors.append(repr(exc))

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def az(*argv):
    proc = subprocess.run([sys.executable, "-m", "mlops_engine", "ml", *argv], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def lab_switches_account_and_environment():
    """What lab 04.2 does before its own deployment: another account and environment become current."""
    az("account", "modelmanagement", "create", "-l", "eastus2", "-n", "labacct", "-g", "labrg")
    az("env", "setup", "-n", "labenv", "-l", "eastus2", "-g", "labrg")
    deadline = time.monotonic() + 60
    while '"Succeeded"' not in az("env", "show", "-n", "labenv", "-g", "labrg"):
        assert time.monotonic() < deadline, "labenv never finished provisioning"
        time.sleep(0.2)
    az("env", "set", "-n", "labenv", "-g", "labrg")


def update_service_like_head_1():
    """`python mlops.py update-service --model decision_tree | head -1`: read one line, close the pipe."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "mlops.py"), "update-service", "--model", "decision_tree"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=600), first.decode(), stderr


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    session = Session(az_prefix=(sys.executable, "-m", "mlops_engine"), out=Output("text", out, err))
    code = main(list(argv), session=session)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def engine(allow_real_runner):
    yield
    subprocess.run([sys.executable, "-m", "mlops_engine", "daemon", "stop"], env={**os.environ}, check=False,
                   capture_output=True, timeout=60)  # fmt: skip


def test_churn_lifecycle_on_the_local_engine(engine):
    code, out, err = run("recipe", "churn-deploy", "--set", "polling.env_interval_s=1")
    assert code == 0, err
    assert 'answered "0"' in out
    code, out, err = run("recipe", "churn-deploy")
    assert code == 0, err
    assert "created:" not in out
    url = out.split("scoring URL: ")[1].split()[0]
    service_id = out.split("service churnpred is live: ")[1].split()[0]
    key = az("service", "keys", "realtime", "-i", service_id).split("PrimaryKey: ")[1].split()[0]
    assert "churnimage:1" in az("service", "show", "realtime", "-i", service_id)
    with Load(url, key) as load:
        code, first, err = update_service_like_head_1()
        assert code == 0 and err == "", err
        assert first.startswith("trained: decision_tree")
        assert json.loads(az("service", "show", "realtime", "-i", service_id))["Image_URL"].endswith("churnimage:2")
        assert az("service", "run", "realtime", "-i", service_id, "-d", SAMPLE).strip() == '"0"'
        lab_switches_account_and_environment()
        code, out, err = run("rollback", "--service", "churnpred")
        assert code == 0, err
        assert "selected: environment mlopsenv (account mlopsacct, resource group mlopsrg), where the journal" in out
        assert "to image churnimage:1" in out
        time.sleep(0.5)
    print(f"load during update + rollback: {load.ok} ok, {load.failed} failed")
    assert load.ok > 50 and load.failed == 0, load.errors[:5]
    assert json.loads(az("service", "show", "realtime", "-i", service_id))["Image_URL"].endswith("churnimage:1")
    assert az("service", "run", "realtime", "-i", service_id, "-d", SAMPLE).strip() == '"0"'
    code, out, err = run("history", "-o", "json")
    rows = json.loads(out)["data"]["deployments"]
    assert [(r["imageVersion"], r["action"], r["outcome"], r["modelName"]) for r in rows] == [
        (1, "create", "succeeded", "naive_bayes"), (2, "update", "succeeded", "decision_tree"),
        (1, "rollback", "succeeded", "naive_bayes"),
    ]  # fmt: skip
    head = subprocess.run(["bash", "-c", f"{sys.executable} {REPO / 'mlops.py'} history | head -1; exit ${{PIPESTATUS[0]}}"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert head.returncode == 0 and head.stderr == "" and head.stdout.split()[:2] == ["Service", "Image"]
    assert paths.journal_db().is_file()
