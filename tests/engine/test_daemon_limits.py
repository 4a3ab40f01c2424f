"""The Model Management limits the daemon enforces (legacy reference 9.1 and 11; mlops_engine/daemon/routes/limits.py).

Pure checks first, one rule per test; then the same rules through the daemon's REST API (fake supervisor):
a value MMS rejected is a 400 `{"code": "BadRequest", "statusCode": 400, "message"}` and nothing is created
or changed.
"""

from __future__ import annotations

import json

import pytest

from mlops_engine.daemon.routes import limits
from mlops_engine.daemon.errors import ApiError

from .daemon_client import make_image


def _rejects(call, *args) -> str:
    with pytest.raises(ApiError) as info:
        call(*args)
    assert info.value.status == 400 and info.value.code == "BadRequest"
    return info.value.message


@pytest.mark.parametrize("name", ["abc", "irisapp", "a-b.c", "x" * 32, "0ab"])
def test_service_names_mms_accepts(name: str) -> None:
    limits.service_name(name)


@pytest.mark.parametrize("name", ["ab", "x" * 33, "IrisApp", "-abc", "abc-", "ab_c", "abc.", "caf\u00e9", "abc\n"])
def test_service_names_mms_rejects(name: str) -> None:
    """3-32 characters, lowercase letters, digits, '-' and '.', alphanumeric at both ends (reference 11)."""
    message = _rejects(limits.service_name, name)
    assert message.startswith(f"Service Name: {name} is invalid. The name of a service must consist of lower case")


def test_num_replicas_is_a_non_negative_integer() -> None:
    """numReplicas >= 0 (9.1): negative, fractional, string and boolean values are rejected."""
    assert limits.service_settings({"numReplicas": 3}) == {"numReplicas": 3}
    for bad in (-1, 1.5, "2", True):
        assert "numReplicas" in _rejects(limits.service_settings, {"numReplicas": bad})


def test_num_replicas_zero_is_refused_by_the_local_engine() -> None:
    """MMS accepted 0 (no replica); the local engine always runs one, so it says so instead."""
    assert "not supported by the local engine" in _rejects(limits.service_settings, {"numReplicas": 0})


def test_num_replicas_not_allowed_with_autoscale() -> None:
    """numReplicas is not allowed together with autoscale (9.1); with autoscale off it is."""
    message = _rejects(limits.service_settings, {"numReplicas": 2, "autoScaler": {"autoscaleEnabled": True}})
    assert "numReplicas cannot be set when autoScaler.autoscaleEnabled is true" in message
    limits.service_settings({"numReplicas": 2, "autoScaler": {"autoscaleEnabled": False}})


@pytest.mark.parametrize(
    ("key", "ok", "bad"),
    [("minReplicas", 0, -1), ("maxReplicas", 1, 0), ("refreshPeriodInSeconds", 1, 0),
     ("targetUtilization", 100, 101), ("targetUtilization", 0, -1)],
)
def test_autoscaler_bounds(key: str, ok: int, bad: int) -> None:
    """minReplicas >= 0, maxReplicas >= 1, refreshPeriodInSeconds >= 1, targetUtilization 0-100 (9.1)."""
    limits.service_settings({"autoScaler": {key: ok}})
    assert f"autoScaler.{key}" in _rejects(limits.service_settings, {"autoScaler": {key: bad}})


def test_autoscaler_min_not_above_max_and_enabled_is_boolean() -> None:
    """Kubernetes' autoscaler (behind MMS) needs minReplicas <= maxReplicas; autoscaleEnabled is a boolean."""
    assert "minReplicas (5)" in _rejects(limits.service_settings, {"autoScaler": {"minReplicas": 5, "maxReplicas": 2}})
    assert "autoscaleEnabled" in _rejects(limits.service_settings, {"autoScaler": {"autoscaleEnabled": "true"}})


@pytest.mark.parametrize("cpu", ["0.5", "2", ".25", "1.", 1, 0.1])
def test_cpu_accepted(cpu: object) -> None:
    """--cpu: 'Reserved number of CPU cores per service replica (can be fraction)'."""
    limits.service_settings({"containerResourceReservation": {"cpu": cpu}})


@pytest.mark.parametrize("cpu", ["abc", "0", "-1", "500m", "1e3", "", "0.5 ", "0.5\n", True, [1]])
def test_cpu_rejected(cpu: object) -> None:
    message = _rejects(limits.service_settings, {"containerResourceReservation": {"cpu": cpu}})
    assert message.startswith("Invalid value for containerResourceReservation.cpu:")


@pytest.mark.parametrize("memory", ["1G", "300M", "0.5G", "1.5G"])
def test_memory_accepted(memory: str) -> None:
    """--memory: 'Reserved amount of memory per service replica, in M or G. (ex. 1G, 300M)'."""
    limits.service_settings({"containerResourceReservation": {"memory": memory}})


@pytest.mark.parametrize("memory", ["1", "1GB", "lots", "0G", "1g", "-1G", "G", 1024])
def test_memory_rejected(memory: object) -> None:
    message = _rejects(limits.service_settings, {"containerResourceReservation": {"memory": memory}})
    assert message.startswith("Invalid value for containerResourceReservation.memory:")


def test_max_concurrent_requests_at_least_one() -> None:
    """maxConcurrentRequestsPerContainer >= 1 (9.1)."""
    limits.service_settings({"maxConcurrentRequestsPerContainer": 1})
    for bad in (0, -3, "5"):
        assert "maxConcurrentRequestsPerContainer" in _rejects(
            limits.service_settings, {"maxConcurrentRequestsPerContainer": bad})


def test_switches_are_booleans_and_objects_are_objects() -> None:
    assert "appInsightsEnabled" in _rejects(limits.service_settings, {"appInsightsEnabled": "true"})
    assert "dataCollection.storageEnabled" in _rejects(limits.service_settings, {"dataCollection": {"storageEnabled": 1}})
    assert "It must be a JSON object" in _rejects(limits.service_settings, {"autoScaler": []})


def test_only_present_settings_are_returned() -> None:
    """Absent and null settings are not settings (an update leaves them unchanged)."""
    body = {"name": "x", "imageId": "i", "numReplicas": None, "autoScaler": {}, "appInsightsEnabled": False}
    assert limits.service_settings(body) == {"autoScaler": {}, "appInsightsEnabled": False}


# ---- through the daemon ---------------------------------------------------------------------------------

@pytest.fixture
def svc_daemon(tmp_path):
    from .daemon_client import DaemonProcess

    d = DaemonProcess(tmp_path / "home").start()
    try:
        assert d.create_account().status == 201
        assert d.create_env("env1")["properties"]["provisioningState"] == "Succeeded"
        yield d
    finally:
        d.stop()


def _body(d, name: str, image_id: str, **extra):
    return {"imageId": image_id, "name": name, "autoScaler": {}, "containerResourceReservation": {},
            "computeResource": {"id": d.env_path("env1").replace("resourceGroups", "resourcegroups"),
                                "type": "Cluster"}, **extra}


def test_the_daemon_answers_mms_limits_with_400_and_creates_nothing(svc_daemon) -> None:
    d = svc_daemon
    _, image = make_image(d, name="img")
    for name, extra in (("irisapp", {"containerResourceReservation": {"cpu": "abc"}}),
                        ("irisapp", {"containerResourceReservation": {"memory": "lots"}}),
                        ("irisapp", {"autoScaler": {"targetUtilization": 150}}),
                        ("Bad_Name", {})):
        reply = d.request("POST", d.mms() + "/services", _body(d, name, image["id"], **extra))
        assert reply.status == 400, reply.text()
        body = json.loads(reply.body)
        assert set(body) == {"code", "statusCode", "message"}
        assert body["code"] == "BadRequest" and body["statusCode"] == 400
    assert d.get(d.mms() + "/services").json()["value"] == []


def test_an_update_outside_the_limits_changes_nothing(svc_daemon) -> None:
    d = svc_daemon
    _, image = make_image(d, name="img")
    reply = d.request("POST", d.mms() + "/services", _body(d, "irisapp", image["id"], numReplicas=2))
    op = d.wait_op(reply.header("Operation-Location"))
    sid = op["resourceLocation"].rsplit("/", 1)[1]
    before = d.get(d.mms() + f"/services/{sid}").json()
    for body in ({"imageId": image["id"], "numReplicas": -1},
                 {"imageId": image["id"], "maxConcurrentRequestsPerContainer": 0},
                 {"imageId": image["id"], "numReplicas": 3, "autoScaler": {"autoscaleEnabled": True}}):
        reply = d.request("PUT", d.mms() + f"/services/{sid}", body)
        assert reply.status == 400 and json.loads(reply.body)["code"] == "BadRequest", reply.text()
    after = d.get(d.mms() + f"/services/{sid}").json()
    assert after["numReplicas"] == before["numReplicas"] == 2 and after["autoScaler"] == before["autoScaler"]
