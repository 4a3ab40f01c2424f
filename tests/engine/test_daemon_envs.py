"""Environments: real provisioning against the serving interpreter, listKeys, failure shape, delete."""

from __future__ import annotations

from .daemon_client import DaemonProcess, daemon_fixture  # noqa: F401


def test_cluster_env_provisions(daemon):
    created = daemon.create_env("env1", cluster=True, wait=False)
    assert created["properties"]["provisioningState"] == "Creating"
    env = daemon.create_env("env1", cluster=True)  # second PUT: 200, unchanged
    assert env["properties"]["provisioningState"] == "Succeeded", env
    cs = env["properties"]["containerService"]
    assert cs["clusterFqdn"] == "127.0.0.1" and cs["agentCount"] == 2 and cs["masterCount"] == 1
    assert cs["systemServices"][0] == {
        "systemServiceType": "ScoringFrontEnd",
        "publicIpAddress": "127.0.0.1",
        "version": cs["systemServices"][0]["version"],
    }
    assert (daemon.home / "environments" / "rg1" / "env1").is_dir()
    keys = daemon.request("POST", daemon.env_path("env1") + "/listKeys").json()
    assert set(keys) == {
        "storageAccount",
        "containerRegistry",
        "containerService",
        "appInsights",
        "serviceAuthConfiguration",
        "sslConfiguration",
    }
    assert keys["containerService"]["acsKubeConfig"].startswith("apiVersion: v1")
    assert keys["containerRegistry"]["password"] != keys["containerRegistry"]["password2"]
    listed = daemon.get(
        f"/subscriptions/{daemon.sub}/providers/Microsoft.MachineLearningCompute/operationalizationClusters"
    )
    assert [e["name"] for e in listed.json()["value"]] == ["env1"]


def test_local_env_and_delete(daemon):
    env = daemon.create_env("loc", cluster=False)
    assert env["properties"]["provisioningState"] == "Succeeded"
    assert env["properties"]["clusterType"] == "Local" and "containerService" not in env["properties"]
    assert daemon.request("DELETE", daemon.env_path("loc")).status == 202
    daemon.wait_for(lambda: daemon.get(daemon.env_path("loc")).status, lambda s: s == 404)
    assert not (daemon.home / "environments" / "rg1" / "loc").exists()
    assert daemon.request("DELETE", daemon.env_path("loc")).status == 204


def test_bad_env_body(daemon):
    reply = daemon.request(
        "PUT",
        daemon.env_path("bad"),
        {"location": "eastus2", "properties": {"clusterType": "ACS", "containerService": {"masterCount": 2}}},
    )
    assert reply.status == 400 and "masterCount" in reply.json()["message"]
    assert daemon.request("PUT", daemon.env_path("bad"), {"properties": {}}).status == 400


def test_provisioning_failure_is_actionable(tmp_path):
    d = DaemonProcess(tmp_path / "home", env={"MLOPS_SERVING_PYTHON": str(tmp_path / "no-python")}).start()
    try:
        env = d.create_env("env1")
        props = env["properties"]
        assert props["provisioningState"] == "Failed"
        error = props["provisioningErrors"][0]["error"]
        assert error["code"] == "ClusterCreationFailed" and error["message"] == "Cluster creation failed"
        detail = error["details"][0]
        assert detail["code"] == "ServingInterpreterNotFound"
        assert "MLOPS_SERVING_PYTHON" in detail["message"] and "no-python" in detail["message"]
    finally:
        d.stop()
