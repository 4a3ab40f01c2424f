"""End to end with the real Supervisor and replicas (no fake): create, score, failed update, kill -9 restore."""

from __future__ import annotations

import http.client
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from .daemon_client import DaemonProcess, make_image

BROKEN = b"def init():\n    raise RuntimeError('boom in init')\n\ndef run(data):\n    return 1\n"
SCORE_V2 = b"def init():\n    pass\n\ndef run(data):\n    return 'v2'\n"


def _post(uri: str, body: object, key: str | None = None) -> tuple[int, bytes]:
    parts = urlsplit(uri)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn.request("POST", parts.path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


@pytest.fixture
def real_daemon(tmp_path):
    d = DaemonProcess(tmp_path / "home", fake_supervisor=False).start()
    try:
        assert d.create_account().status == 201
        assert d.create_env("env1")["properties"]["provisioningState"] == "Succeeded"
        yield d
    finally:
        d.stop()


@pytest.mark.slow
def test_real_supervisor_end_to_end(real_daemon):
    d = real_daemon
    _, good = make_image(d, name="good", schema=None)
    _, bad = make_image(d, name="bad", score=BROKEN, schema=None)
    _, v2 = make_image(d, name="good", score=SCORE_V2, schema=None)
    assert good["creationState"] == bad["creationState"] == v2["creationState"] == "Succeeded"
    reply = d.request(
        "POST",
        d.mms() + "/services",
        {
            "imageId": good["id"],
            "name": "realapp",
            "computeResource": {"id": d.env_path("env1"), "type": "Cluster"},
            "autoScaler": {},
            "containerResourceReservation": {},
        },
    )
    assert reply.status == 202, reply.text
    op = d.wait_op(reply.header("Operation-Location"), timeout=90)
    assert op["state"] == "Succeeded", op
    sid = op["resourceLocation"].rsplit("/", 1)[1]
    svc = d.get(d.mms() + f"/services/{sid}").json()
    keys = d.get(d.mms() + f"/services/{sid}/keys").json()
    assert _post(svc["scoringUri"], {"input": 1})[0] == 401
    status, body = _post(svc["scoringUri"], {"input": 1}, keys["primaryKey"])
    assert status == 200 and b"MODEL" in body, body

    failed = d.wait_op(
        d.request("PUT", d.mms() + f"/services/{sid}", {"imageId": bad["id"]}).header("Operation-Location"),
        timeout=90,
    )
    assert failed["state"] == "Failed" and "boom in init" in failed["error"]["details"][1]["message"]
    assert _post(svc["scoringUri"], {"input": 1}, keys["primaryKey"])[0] == 200
    assert d.get(d.mms() + f"/services/{sid}").json()["image"]["id"] == good["id"]

    ok = d.wait_op(
        d.request("PUT", d.mms() + f"/services/{sid}", {"imageId": v2["id"]}).header("Operation-Location"),
        timeout=90,
    )
    assert ok["state"] == "Succeeded", ok
    assert b"v2" in _post(svc["scoringUri"], {"input": 1}, keys["primaryKey"])[1]

    d.kill9()
    time.sleep(0.5)
    d.start()
    restored = d.wait_for(
        lambda: d.get(d.mms() + f"/services/{sid}").json(), lambda s: s["liveImageId"] == v2["id"], timeout=60
    )
    assert restored["port"] == svc["port"]
    deadline = time.monotonic() + 30
    while True:
        try:
            status, body = _post(svc["scoringUri"], {"input": 1}, keys["primaryKey"])
            if status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "restored service does not answer"
        time.sleep(0.2)
    assert b"v2" in body
    logs = d.get(d.mms() + f"/services/{sid}/logs?maxLines=50").json()["lines"]
    assert logs, "replica logs are served"
    pids = [r["pid"] for r in d.get(d.mms() + f"/services/{sid}").json()["replicas"]]
    assert pids
    d.stop()  # POST /shutdown stops every replica first
    assert d.proc.returncode == 0
    for pid in pids:
        deadline = time.monotonic() + 10
        while _alive(pid):
            assert time.monotonic() < deadline, f"replica {pid} outlived the daemon"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by anyone) is dead
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
