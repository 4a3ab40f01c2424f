"""Artifacts, models, manifests and image builds."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from .daemon_client import DRIVER, SCORE_OK, daemon_fixture, make_image, targz  # noqa: F401

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _register(d, name="model.pkl", tags=()):
    url = d.upload(targz({"model.pkl": b"M"}))
    reply = d.request(
        "POST",
        d.mms() + "/models",
        {
            "name": name,
            "tags": list(tags),
            "description": "d",
            "url": url,
            "mimeType": "application/json",
            "unpack": True,
        },
    )
    assert reply.status == 200, reply.text
    return reply.json()


def test_artifacts_roundtrip(daemon):
    url = daemon.upload(b"hello")
    digest = url.rsplit("/", 1)[1]
    assert daemon.get(f"/artifacts/sha256/{digest}").body == b"hello"
    assert daemon.upload(b"hello") == url  # content-addressed
    assert daemon.get("/artifacts/sha256/" + "0" * 64).status == 404
    assert list((daemon.home / "tmp").iterdir()) == []


def test_models_versions_ids_and_filters(daemon):
    first = _register(daemon, tags=["prod"])
    second = _register(daemon, tags=["v2"])
    other = _register(daemon, name="other.pkl")
    assert re.fullmatch(r"[0-9a-f]{32}", first["id"]) and TS.match(first["createdAt"])
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert list(first) == [
        "id",
        "name",
        "version",
        "tags",
        "description",
        "url",
        "mimeType",
        "unpack",
        "createdAt",
    ]
    base = daemon.mms() + "/models"
    assert [m["id"] for m in daemon.get(base).json()["value"]] == [first["id"], second["id"], other["id"]]
    assert [m["version"] for m in daemon.get(base + "?name=model.pkl").json()["value"]] == [1, 2]
    assert [m["id"] for m in daemon.get(base + "?tag=v2").json()["value"]] == [second["id"]]
    assert daemon.get(base + f"/{first['id']}").json() == first
    bad = daemon.request("POST", base, {"name": "x", "url": "http://example.com/x"})
    assert bad.status == 400 and "artifact" in bad.json()["message"]


def test_manifests_validate_models(daemon):
    model = _register(daemon)
    driver = daemon.upload(DRIVER)
    body = {
        "name": "m",
        "description": None,
        "driverProgram": "driver",
        "modelType": "Registered",
        "modelIds": [model["id"]],
        "assets": [{"id": "driver", "url": driver, "mimeType": "application/x-python"}],
        "targetRuntime": {"runtimeType": "Python", "properties": {}},
    }
    created = daemon.request("POST", daemon.mms() + "/manifests", body).json()
    assert GUID.match(created["id"]) and created["version"] == 1 and created["webserviceType"] == "Realtime"
    assert TS.match(created["createdTime"])
    again = daemon.request("POST", daemon.mms() + "/manifests", body).json()
    assert again["version"] == 2
    unknown = daemon.request("POST", daemon.mms() + "/manifests", dict(body, modelIds=["f" * 32]))
    assert unknown.status == 400 and "f" * 32 in unknown.json()["message"]
    badrt = daemon.request(
        "POST", daemon.mms() + "/manifests", dict(body, targetRuntime={"runtimeType": "R"})
    )
    assert badrt.status == 400
    assert [m["id"] for m in daemon.get(daemon.mms() + "/manifests").json()["value"]] == [
        created["id"],
        again["id"],
    ]
    assert daemon.get(daemon.mms() + f"/manifests/{created['id']}").json() == created


def test_image_build_succeeds(daemon):
    conda = "name: env\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - packaging\n"
    op, image = make_image(
        daemon, name="irisimage", requirements="packaging>=20\nazure-ml-api-sdk==0.1.0a11\n", conda=conda
    )
    assert op["state"] == "Succeeded", op
    assert op["operationType"] == "Image" and TS.match(op["endTime"])
    assert op["resourceLocation"] == daemon.mms() + f"/images/{image['id']}"
    assert image["creationState"] == "Succeeded" and image["imageLocation"] == "local/irisimage:1"
    assert image["manifest"]["name"] == "irisimage" and image["imageType"] == "Docker"
    bundle = daemon.home / "images" / image["id"]
    assert image["imageBuildLogUri"] == (bundle / "build.log").as_uri()
    meta = json.loads((bundle / "image.json").read_text())
    assert (
        meta["driver"] == "score.py"
        and meta["schema"] == "service_schema.json"
        and meta["runtime"] == "python"
    )
    assert meta["models"][0]["name"] == "model.pkl"
    for name in (
        "app/model.pkl",
        "app/score.py",
        "driver.py",
        "requirements.txt",
        "conda_dependencies.yml",
        "Dockerfile",
        "build.log",
    ):
        path = bundle / name
        assert path.is_file(), name
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o555
    assert 'CMD ["python", "driver.py"]' in (bundle / "Dockerfile").read_text()
    assert list((daemon.home / "tmp").iterdir()) == []
    _, image2 = make_image(daemon, name="irisimage")
    assert image2["version"] == 2 and image2["imageLocation"] == "local/irisimage:2"
    listed = daemon.get(daemon.mms() + "/images").json()["value"]
    assert [i["id"] for i in listed] == [image["id"], image2["id"]]


def _assert_build_failed(d, op, image, reason):
    assert op["state"] == "Failed"
    log_uri = image["imageBuildLogUri"]
    assert op["error"] == {
        "code": "BadRequest",
        "statusCode": 400,
        "message": "Image creation failed due to an error building the docker image.",
        "details": [{"code": "DockerBuildError", "message": log_uri}],
    }
    assert image["creationState"] == "Failed" and image["error"] == op["error"]
    log = Path(log_uri[len("file://") :]).read_text().strip().splitlines()
    assert reason in log[-1], log[-3:]
    bundle = d.home / "images" / image["id"]
    assert sorted(p.name for p in bundle.iterdir()) == ["build.log"]
    assert list((d.home / "tmp").iterdir()) == []


def test_image_build_fails_on_missing_requirement(daemon):
    op, image = make_image(daemon, requirements="packaging\nfoo==9.9\n")
    _assert_build_failed(
        daemon, op, image, "ERROR: requirement 'foo==9.9' is not installed in the serving interpreter ("
    )


def test_image_build_fails_on_unsatisfied_version_and_conda(daemon):
    op, image = make_image(daemon, requirements="packaging<1\n")
    _assert_build_failed(daemon, op, image, "requirement 'packaging<1' is not satisfied")
    conda = "dependencies:\n  - python=3.11\n  - scikit-learn=0.0.1\n"
    op, image = make_image(daemon, requirements="", conda=conda)
    _assert_build_failed(daemon, op, image, "requirement 'scikit-learn==0.0.1.*'")


def test_image_build_fails_on_bad_driver_or_schema(daemon):
    op, image = make_image(daemon, score=b"def init(:\n")
    _assert_build_failed(daemon, op, image, "the scoring driver score.py does not compile")
    op, image = make_image(daemon, schema=b"{nope")
    _assert_build_failed(daemon, op, image, "the schema file service_schema.json is not valid JSON")
    op, image = make_image(daemon, driver=b"from missing_module import run\n")
    assert op["state"] == "Succeeded"  # falls back to the only .py in app/


def test_image_create_validation(daemon):
    reply = daemon.request(
        "POST", daemon.mms() + "/images", {"name": "x", "manifestId": "nope", "imageType": "Docker"}
    )
    assert reply.status == 400 and "nope" in reply.json()["message"]
    assert daemon.get(daemon.mms() + "/operations/nope").status == 404


def test_image_build_with_cli_driver_template(daemon):
    from mlops_engine.cli.commands.manifest import DRIVER_TEMPLATE

    driver = DRIVER_TEMPLATE.format(module="score", schema="service_schema.json").encode()
    op, image = make_image(daemon, name="cli", driver=driver)
    assert op["state"] == "Succeeded", op
    meta = json.loads((daemon.home / "images" / image["id"] / "image.json").read_text())
    assert (meta["driver"], meta["schema"]) == ("score.py", "service_schema.json")
    driver = DRIVER_TEMPLATE.format(module="score", schema=None).encode()
    op, image = make_image(daemon, name="cli", driver=driver)
    meta = json.loads((daemon.home / "images" / image["id"] / "image.json").read_text())
    assert (meta["driver"], meta["schema"]) == ("score.py", None)
