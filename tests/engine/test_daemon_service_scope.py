"""Service names are scoped as the legacy CLI scoped them (docs/compatibility.md, "Service names").

Cluster services live in their Model Management account: names are unique per account. Local services
run on this machine (the legacy CLI ran them as Docker containers labelled with the name): every account
sees them and their names are unique in the engine home. A local and a cluster service may share a name.
"""

from __future__ import annotations

import re
import time

import pytest

from .conftest import CliEngine
from .daemon_client import DaemonProcess, make_image


@pytest.fixture
def scoped(tmp_path):
    d = DaemonProcess(tmp_path / "home").start()
    try:
        assert d.create_account().status == 201
        assert d.create_account(rg="rg2", name="acct2").status == 201
        for name, cluster in (("env1", True), ("loc", False), ("loc2", False)):
            assert d.create_env(name, cluster=cluster)["properties"]["provisioningState"] == "Succeeded"
        yield d
    finally:
        d.stop()


def _create(d, base, name, image_id, env, ctype):
    compute = {"id": d.env_path(env).replace("resourceGroups", "resourcegroups"), "type": ctype}
    body = {"imageId": image_id, "name": name, "computeResource": compute, "autoScaler": {}}
    return d.request("POST", base + "/services", body)


def _image_in(d, rg, acct):
    return make_image(d, name="img", account=(rg, acct))[1]["id"]


def test_local_names_are_per_home_cluster_names_per_account(scoped):
    d = scoped
    one, two = d.mms(), d.mms("rg2", "acct2")
    image1, image2 = _image_in(d, "rg1", "acct"), _image_in(d, "rg2", "acct2")

    op = d.wait_op(_create(d, one, "myservice", image1, "loc", "Local").header("Operation-Location"))
    assert op["state"] == "Succeeded" and op["resourceLocation"].endswith("/services/myservice")

    # another account sees the local service, as `service list` in local mode showed every local container
    seen = d.get(two + "/services?computeType=Local").json()["value"]
    assert [s["id"] for s in seen] == ["myservice"]
    assert d.get(two + "/services/myservice").json()["computeResource"]["type"] == "Local"
    assert d.get(two + "/services?computeType=Cluster").json()["value"] == []

    # so a second local service of that name, from any account or environment, is refused with the reason
    clash = _create(d, two, "myservice", image2, "loc2", "Local")
    assert clash.status == 409
    message = clash.json()["message"]
    assert message.startswith("A service with the name myservice already exists: a local service")
    assert "environment loc of resource group rg1" in message
    assert "az ml service delete realtime -i myservice" in message

    # a cluster service may share the local one's name; cluster names are unique per account only
    first = d.wait_op(_create(d, one, "myservice", image1, "env1", "Cluster").header("Operation-Location"))
    assert first["state"] == "Succeeded"
    assert re.search(r"/services/myservice\.env1-[0-9a-f]{8}\.eastus2$", first["resourceLocation"])
    again = _create(d, one, "myservice", image1, "env1", "Cluster")
    assert again.status == 409
    assert again.body == (
        b'{"code": "Conflict", "statusCode": 409, "message": "A service with the name myservice already exists."}'
    )
    other = d.wait_op(_create(d, two, "myservice", image2, "env1", "Cluster").header("Operation-Location"))
    assert other["state"] == "Succeeded"
    assert [s["name"] for s in d.get(one + "/services?computeType=Cluster").json()["value"]] == ["myservice"]
    assert (
        len(d.get(one + "/services?serviceName=myservice").json()["value"]) == 2
    )  # its cluster + the local one

    # the local service can be deleted from the other account, after which the name is free everywhere
    assert d.request("DELETE", two + "/services/myservice").status == 200
    assert d.get(one + "/services?computeType=Local").json()["value"] == []
    op = d.wait_op(_create(d, two, "myservice", image2, "loc2", "Local").header("Operation-Location"))
    assert op["state"] == "Succeeded"


def _setup_local(engine: CliEngine, account: str, rg: str, env: str) -> None:
    engine.az_ok("account", "modelmanagement", "create", "-l", "eastus2", "-n", account, "-g", rg)
    engine.az_ok("account", "modelmanagement", "set", "-n", account, "-g", rg)
    engine.az_ok("env", "setup", "-n", env, "-l", "eastus2", "-g", rg)
    deadline = time.monotonic() + 60
    while engine.az_json("env", "show", "-n", env, "-g", rg)["Provisioning State"] != "Succeeded":
        assert time.monotonic() < deadline, "environment not provisioned"
        time.sleep(0.1)
    engine.az_ok("env", "set", "-n", env, "-g", rg)


def test_cli_local_service_seen_and_named_from_another_environment(cli_engine: CliEngine):
    """The issue's scenario through `az ml`: a local service created in one account and environment is
    listed from another one, and creating the same name there says where the existing service runs."""
    engine = cli_engine
    _setup_local(engine, "acct1", "rg1", "locenv1")
    image1 = engine.build("img1", engine.register_model(), "score_v1.py")
    out = engine.az_ok("service", "create", "realtime", "-n", "myservice", "--image-id", image1, timeout=180)
    assert "[Local mode] Service ID: myservice" in out

    _setup_local(engine, "acct2", "rg2", "locenv2")
    listed = engine.az_json("service", "list", "realtime")
    assert [row["Name"] for row in listed] == ["myservice"]
    image2 = engine.build("img2", engine.register_model(), "score_v1.py")
    proc = engine.az("service", "create", "realtime", "-n", "myservice", "--image-id", image2)
    assert proc.returncode == 1
    assert "'Response Code': 409" in proc.stderr
    assert "created in environment locenv1 of resource group rg1" in proc.stderr
