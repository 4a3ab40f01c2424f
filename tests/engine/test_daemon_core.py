"""Daemon start-up, auth, response headers, errors and ARM-like accounts."""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat

from .daemon_client import DaemonProcess, daemon_fixture  # noqa: F401


def test_startup_files_and_info(daemon):
    home = daemon.home
    token = home / "daemon" / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert len(token.read_text().strip()) == 64
    info = json.loads((home / "daemon" / "daemon.json").read_text())
    assert set(info) == {"pid", "port", "version", "started"}
    assert info["started"].endswith("Z") and len(info["started"].split(".")[1]) == 7
    reply = daemon.get("/info")
    assert reply.status == 200
    assert reply.json() == {
        "subscriptionId": daemon.sub,
        "version": info["version"],
        "pid": info["pid"],
        "port": info["port"],
    }


def test_header_order_and_server(daemon):
    reply = daemon.get("/info")
    names = [k for k, _ in reply.headers]
    assert names == ["Server", "Date", "Content-Type", "x-ms-client-request-id", "Content-Length"]
    assert reply.header("Server").startswith("mlops-engine/")
    assert reply.header("Content-Type") == "application/json; charset=utf-8"


def test_auth_required(daemon):
    for token in ("", "0" * 64, daemon.token[:-1]):
        reply = daemon.request("GET", "/info", token=token)
        assert reply.status == 401
        assert list(reply.json()) == ["code", "statusCode", "message"]
        assert reply.json()["code"] == "Unauthorized"
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port)
    conn.request("GET", daemon.mms() + "/models")
    assert conn.getresponse().status == 401


def test_error_bodies(daemon):
    reply = daemon.get(daemon.mms() + "/images/00000000-0000-0000-0000-000000000000")
    assert reply.status == 404
    assert reply.body == b'{"code": "NotFound", "statusCode": 404, "message": "Image not found"}'
    for kind in ("models", "manifests", "services"):
        body = daemon.get(daemon.mms() + f"/{kind}/nope").json()
        assert (
            body["message"]
            == {"models": "Model", "manifests": "Manifest", "services": "Service"}[kind] + " not found"
        )
    reply = daemon.get(daemon.mms(acct="nosuch") + "/models")
    assert reply.status == 404 and reply.json()["code"] == "AccountNotFound"
    reply = daemon.request("POST", daemon.mms() + "/models", raw=b"{not json")
    assert reply.status == 400 and "not valid JSON" in reply.json()["message"]
    reply = daemon.request("POST", daemon.mms() + "/models", raw=b"[1, 2]")
    assert reply.status == 400 and "JSON object" in reply.json()["message"]
    assert daemon.get("/nowhere").status == 404
    assert daemon.request("DELETE", "/info").status == 405


def test_accounts_crud(daemon):
    base = f"/subscriptions/{daemon.sub}/resourceGroups/rg1/providers/Microsoft.MachineLearningModelManagement/accounts"
    doc = daemon.get(base + "/acct").json()
    assert doc["type"] == "Microsoft.MachineLearningModelManagement/accounts"
    assert doc["sku"] == {"name": "S1", "capacity": 1}
    assert doc["properties"]["modelManagementSwaggerLocation"] == (
        f"http://127.0.0.1:{daemon.port}/api/subscriptions/{daemon.sub}/resourceGroups/rg1/accounts/acct"
        "/swagger.json?api-version=2017-09-01-preview"
    )
    assert daemon.create_account().status == 200
    patched = daemon.request(
        "PATCH",
        base + "/acct",
        {"properties": {"description": "x"}, "sku": {"name": "S2", "capacity": 2}, "tags": {"a": "b"}},
    ).json()
    assert patched["properties"]["description"] == "x" and patched["sku"] == {"name": "S2", "capacity": 2}
    assert daemon.request("PATCH", base + "/acct", {"sku": {"name": "bogus", "capacity": 1}}).status == 400
    listed = daemon.get(
        f"/subscriptions/{daemon.sub}/providers/Microsoft.MachineLearningModelManagement/accounts"
    ).json()
    assert [a["name"] for a in listed["value"]] == ["acct"]
    assert daemon.get(f"/subscriptions/{daemon.sub}/resourceGroups/rg1").json() == {
        "name": "rg1",
        "location": "eastus2",
    }
    assert (
        daemon.request(
            "PUT", f"/subscriptions/{daemon.sub}/resourceGroups/rg2", {"location": "westus"}
        ).status
        == 201
    )
    assert daemon.request("DELETE", base + "/acct").status == 200
    assert daemon.request("DELETE", base + "/acct").status == 204
    assert daemon.get(base + "/acct").status == 404
    assert daemon.get("/subscriptions/other/resourceGroups/rg1").status == 404


def test_sigterm_stops_and_restart_keeps_subscription(tmp_path):
    d = DaemonProcess(tmp_path / "home").start()
    sub, port = d.sub, d.port
    os.kill(d.proc.pid, signal.SIGTERM)
    assert d.proc.wait(10) == 0
    d.start()
    try:
        assert d.sub == sub
        assert d.port == port  # the previous port is reused when free
    finally:
        d.stop()
    assert d.proc.returncode == 0


def test_account_swagger_location_answers(daemon):
    base = f"/subscriptions/{daemon.sub}/resourceGroups/rg1/providers/Microsoft.MachineLearningModelManagement/accounts"
    location = daemon.get(base + "/acct").json()["properties"]["modelManagementSwaggerLocation"]
    swagger = daemon.get(location.split(f":{daemon.port}", 1)[1]).json()
    assert swagger["swagger"] == "2.0" and swagger["basePath"] == daemon.mms()


def test_crash_recovery_cleans_staging_and_fails_interrupted_work(tmp_path):
    import sqlite3

    d = DaemonProcess(tmp_path / "home").start()
    assert d.create_account().status == 201
    d.kill9()
    staging = d.home / "tmp" / "build-x"
    (staging / "app").mkdir(parents=True)
    (staging / "app" / "half.py").write_text("x")
    os.chmod(staging / "app", 0o555)
    (d.home / "tmp" / "artifact-partial").write_bytes(b"half")
    conn = sqlite3.connect(d.home / "state.db")
    with conn:
        conn.execute(
            "INSERT INTO operations (id, account, type, state, created_time, end_time, resource_location) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "op-1",
                "rg1/acct",
                "Image",
                "Running",
                "2026-01-01T00:00:00.000000Z",
                None,
                d.mms() + "/images/img-1",
            ),
        )
    conn.close()
    d.start()
    try:
        assert list((d.home / "tmp").iterdir()) == []
        failed = d.get(d.mms() + "/operations/op-1").json()
        assert failed["state"] == "Failed" and failed["error"]["details"][0]["code"] == "DaemonRestarted"
    finally:
        d.stop()


def test_head_resource_group(daemon):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port)
    headers = {"Authorization": f"Bearer {daemon.token}"}
    conn.request("HEAD", f"/subscriptions/{daemon.sub}/resourceGroups/rg1", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b""
    conn.request("HEAD", f"/subscriptions/{daemon.sub}/resourceGroups/nope", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 404 and resp.read() == b""
