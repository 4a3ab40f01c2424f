"""Services through a fake supervisor: create, 409, keys, update (good and failing), logs, delete, restore."""

from __future__ import annotations

import json
import re

import pytest

from .daemon_client import DaemonProcess, make_image

BROKEN = b"def init():\n    raise RuntimeError('boom')  # FAIL_INIT\n\ndef run(data):\n    return 1\n"


@pytest.fixture
def svc_daemon(tmp_path):
    d = DaemonProcess(tmp_path / "home").start()
    try:
        assert d.create_account().status == 201
        assert d.create_env("env1")["properties"]["provisioningState"] == "Succeeded"
        assert d.create_env("loc", cluster=False)["properties"]["provisioningState"] == "Succeeded"
        yield d
    finally:
        d.stop()


def _create(d, name, image_id, ctype="Cluster", env="env1", **extra):
    body = {
        "imageId": image_id,
        "name": name,
        "computeResource": {"id": d.env_path(env).replace("resourceGroups", "resourcegroups"), "type": ctype},
        "autoScaler": {},
        "containerResourceReservation": {},
        **extra,
    }
    return d.request("POST", d.mms() + "/services", body)


def _journal(d):
    path = d.home / "fake-supervisor.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_cluster_service_lifecycle(svc_daemon):
    d = svc_daemon
    _, image = make_image(d, name="irisimage")
    reply = _create(d, "irisapp", image["id"], numReplicas=2)
    assert reply.status == 202 and reply.body == b"{}"
    op = d.wait_op(reply.header("Operation-Location"))
    assert op["state"] == "Succeeded", op
    service_id = op["resourceLocation"].rsplit("/", 1)[1]
    assert re.fullmatch(r"irisapp\.env1-[0-9a-f]{8}\.eastus2", service_id)
    svc = d.get(d.mms() + f"/services/{service_id}").json()
    assert svc["state"] == "Succeeded" and svc["numReplicas"] == 2
    assert svc["scoringUri"] == f"http://127.0.0.1:{svc['port']}/api/v1/service/irisapp/score"
    assert svc["swaggerUri"] == f"http://127.0.0.1:{svc['port']}/api/v1/service/irisapp/swagger.json"
    assert svc["image"]["id"] == image["id"] and svc["models"][0]["name"] == "model.pkl"
    assert svc["liveImageId"] == image["id"] and len(svc["replicas"]) == 2
    assert svc["computeResource"]["type"] == "Cluster"
    for key in (
        "createdAt",
        "updatedAt",
        "appInsightsEnabled",
        "dataCollection",
        "autoScaler",
        "containerResourceReservation",
        "maxConcurrentRequestsPerContainer",
        "error",
    ):
        assert key in svc

    dup = _create(d, "irisapp", image["id"])
    assert dup.status == 409
    assert (
        dup.body
        == b'{"code": "Conflict", "statusCode": 409, "message": "A service with the name irisapp already exists."}'
    )

    keys = d.get(d.mms() + f"/services/{service_id}/keys").json()
    assert set(keys) == {"primaryKey", "secondaryKey"} and re.fullmatch(r"[0-9a-f]{32}", keys["primaryKey"])
    regen = d.request(
        "POST", d.mms() + f"/services/{service_id}/regenerateKeys", {"keyType": "Secondary"}
    ).json()
    assert regen["primaryKey"] == keys["primaryKey"] and regen["secondaryKey"] != keys["secondaryKey"]
    assert _journal(d)[-1] == {
        "call": "set_keys",
        "service": service_id,
        "keys": [regen["primaryKey"], regen["secondaryKey"]],
    }
    assert (
        d.request("POST", d.mms() + f"/services/{service_id}/regenerateKeys", {"keyType": "Tertiary"}).status
        == 400
    )

    listed = d.get(d.mms() + "/services?serviceName=irisapp").json()["value"]
    assert [s["id"] for s in listed] == [service_id]
    assert d.get(d.mms() + "/services?serviceName=other").json()["value"] == []

    assert d.request("DELETE", d.mms() + f"/services/{service_id}").status == 200
    assert _journal(d)[-1] == {"call": "stop", "service": service_id}
    assert d.request("DELETE", d.mms() + f"/services/{service_id}").status == 204
    assert d.get(d.mms() + f"/services/{service_id}").status == 404


def test_update_keeps_old_image_on_failure(svc_daemon):
    d = svc_daemon
    _, good = make_image(d, name="good")
    _, bad = make_image(d, name="bad", score=BROKEN)
    _, good2 = make_image(d, name="good")
    op = d.wait_op(_create(d, "app1", good["id"]).header("Operation-Location"))
    sid = op["resourceLocation"].rsplit("/", 1)[1]
    reply = d.request("PUT", d.mms() + f"/services/{sid}", {"imageId": bad["id"], "numReplicas": 3})
    assert reply.status == 202
    failed = d.wait_op(reply.header("Operation-Location"))
    assert failed["state"] == "Failed" and failed["operationType"] == "Service"
    err = failed["error"]
    assert err["message"] == "Kubernetes Deployment failed" and err["statusCode"] == 400
    assert [x["code"] for x in err["details"]] == ["CrashLoopBackOff", "ReplicaLog"]
    assert "RuntimeError: boom" in err["details"][1]["message"]
    svc = d.get(d.mms() + f"/services/{sid}").json()
    assert svc["state"] == "Succeeded" and svc["image"]["id"] == good["id"] and svc["numReplicas"] == 1
    ok = d.wait_op(
        d.request("PUT", d.mms() + f"/services/{sid}", {"imageId": good2["id"], "numReplicas": 2}).header(
            "Operation-Location"
        )
    )
    assert ok["state"] == "Succeeded"
    svc = d.get(d.mms() + f"/services/{sid}").json()
    assert svc["image"]["id"] == good2["id"] and svc["numReplicas"] == 2 and svc["id"] == sid
    assert d.request("PUT", d.mms() + "/services/nope", {"imageId": good["id"]}).status == 404

    lines = d.get(d.mms() + f"/services/{sid}/logs?maxLines=2").json()["lines"]
    assert len(lines) == 2 and lines[-1].endswith(f"swapped to image={good2['id']}")
    assert all(
        "boom" in line for line in d.get(d.mms() + f"/services/{sid}/logs?requestId=boom").json()["lines"]
    )


def test_create_failure_and_local_mode(svc_daemon):
    d = svc_daemon
    _, bad = make_image(d, name="bad", score=BROKEN)
    op = d.wait_op(_create(d, "broken", bad["id"]).header("Operation-Location"))
    assert op["state"] == "Failed" and op["error"]["details"][0]["code"] == "CrashLoopBackOff"
    assert op["resourceLocation"].split("/services/")[1].startswith("broken.env1-")
    _, good = make_image(d, name="good")
    op = d.wait_op(_create(d, "localapp", good["id"], ctype="Local", env="loc").header("Operation-Location"))
    assert op["state"] == "Succeeded" and op["resourceLocation"].endswith("/services/localapp")
    svc = d.get(d.mms() + "/services/localapp").json()
    assert svc["scoringUri"] == f"http://127.0.0.1:{svc['port']}/score"
    keys = d.get(d.mms() + "/services/localapp/keys")
    assert keys.status == 400 and keys.json()["message"] == "Key operations not supported for local services"
    assert [s["name"] for s in d.get(d.mms() + "/services?computeType=Local").json()["value"]] == ["localapp"]
    assert _create(d, "x", "nope").status == 400
    assert _create(d, "Bad_Name", good["id"]).status == 400


def test_restore_after_kill9_and_env_delete(svc_daemon):
    d = svc_daemon
    _, good = make_image(d, name="good")
    op = d.wait_op(_create(d, "keeper", good["id"]).header("Operation-Location"))
    sid = op["resourceLocation"].rsplit("/", 1)[1]
    port = d.get(d.mms() + f"/services/{sid}").json()["port"]
    d.kill9()
    d.start()
    svc = d.wait_for(
        lambda: d.get(d.mms() + f"/services/{sid}").json(), lambda s: s["liveImageId"] is not None
    )
    assert svc["port"] == port and svc["state"] == "Succeeded"
    restarts = [c for c in _journal(d) if c["call"] == "start" and c["service"] == sid]
    assert len(restarts) == 2 and restarts[-1]["port"] == port
    assert d.request("DELETE", d.env_path("env1")).status == 202
    d.wait_for(lambda: d.get(d.mms() + f"/services/{sid}").status, lambda s: s == 404)
    assert {"call": "stop", "service": sid} in _journal(d)
