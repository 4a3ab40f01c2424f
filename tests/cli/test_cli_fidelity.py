"""Issue 14's "Must show" items, end to end: the `az ml` commands a user types, against a real engine.

One engine for the module (account, cluster environment, a model, a manifest and an image built once);
each test then runs the commands of one item and checks what they print and what the service became.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Az


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Az, str, str, str]]:
    """(az, model id, manifest id, image id)."""
    az = Az(tmp_path_factory.mktemp("fidelity"))
    try:
        az.ready(cluster=True)
        model_id = re.findall(r"Id: (\S+)", az("model", "register", "-m", "model.pkl", "-n", "model.pkl",
                                              check=True).stdout)[0]
        manifest_id = re.findall(r"Id: (\S+)", az("manifest", "create", "-n", "irismanifest", "-f", "score.py",
                                                  "-r", "python", "-i", model_id, "-s", "service_schema.json",
                                                  check=True).stdout)[0]
        image_id = re.findall(r"Image ID: (\S+)", az("image", "create", "-n", "irisimage", "--manifest-id",
                                                     manifest_id, check=True).stdout)[0]
        yield az, model_id, manifest_id, image_id
    finally:
        az.stop()


def _services(az: Az) -> list[str]:
    return [s["Name"] for s in json.loads(az("service", "list", "realtime", check=True).stdout)]


def test_manifest_show_tsv_shows_the_model_count(built: tuple[Az, str, str, str]) -> None:
    """`-o tsv` prints a list value as its length (azure-cli-core TsvOutput), in sorted key order."""
    az, model_id, manifest_id, _ = built
    fields = az("manifest", "show", "-i", manifest_id, "-o", "tsv", check=True).stdout.rstrip("\n").split("\t")
    shown = json.loads(az("manifest", "show", "-i", manifest_id, check=True).stdout)
    assert shown["ModelIds"] == [model_id]
    # CreatedTime, Description, Id, ModelIds, Name, Runtime, Version, WebserviceType
    assert fields == [shown["CreatedTime"], " ", manifest_id, "1", "irismanifest", "Python", "1", "Realtime"]


def test_image_show_query_keeps_the_querys_order(built: tuple[Az, str, str, str]) -> None:
    """`--query "{n:Name,v:Version,s:CreationState}" -o tsv`: n, v, s, not sorted; -o table too."""
    az, _, _, image_id = built
    query = "{n:Name,v:Version,s:CreationState}"
    assert az("image", "show", "-i", image_id, "--query", query, "-o", "tsv", check=True).stdout == \
        "irisimage\t1\tSucceeded\n"
    table = az("image", "show", "-i", image_id, "--query", query, "-o", "table", check=True).stdout.splitlines()
    assert table[0].split() == ["N", "V", "S"] and table[2].split() == ["irisimage", "1", "Succeeded"]


def test_replicas_zero_creates_the_service_with_the_default_count(built: tuple[Az, str, str, str]) -> None:
    """The genuine CLI drops a falsy `-z` from the request: the service gets the default (1 replica)."""
    az, _, _, image_id = built
    proc = az("service", "create", "realtime", "--image-id", image_id, "-n", "zeroapp", "-z", "0", "-v", check=True)
    payload = next(line for line in proc.stdout.splitlines() if line.startswith("{'imageId'"))
    assert "numReplicas" not in payload
    service_id = re.findall(r"Service ID: (\S+)", proc.stdout)[0]
    shown = json.loads(az("service", "show", "realtime", "-i", service_id, "-v", check=True).stdout)
    assert shown["NumReplicas"] == 1 and shown["State"] == "Succeeded"


@pytest.mark.parametrize(("flag", "value", "field"), [("--cpu", "abc", "cpu"), ("--memory", "1GB", "memory")])
def test_malformed_cpu_or_memory_is_rejected_with_the_mms_error(built: tuple[Az, str, str, str], flag: str,
                                                                value: str, field: str) -> None:
    """The service (not the CLI) rejects them: HTTP 400 from MMS, printed as the legacy CLI printed any MMS
    error (the Python-3 repr of MlCliError), exit 1; no service is created."""
    az, _, _, image_id = built
    proc = az("service", "create", "realtime", "--image-id", image_id, "-n", "badapp", flag, value)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("ERROR: {'Azure-cli-ml Version': '0.1.0a27.post3', 'Error': MlCliError("
                                  "{'Error': 'Error occurred creating service.', 'Response Headers': {")
    assert "'Response Code': 400})}" in proc.stderr
    content = re.search(r"'Response Content': (b'.*?'), 'Response Code'", proc.stderr)
    assert content is not None
    error = json.loads(ast.literal_eval(content.group(1)))
    assert error["code"] == "BadRequest" and error["statusCode"] == 400
    assert error["message"].startswith(f"Invalid value for containerResourceReservation.{field}: {value}. It must")
    assert "badapp" not in _services(az)


def test_invalid_service_name_is_rejected_by_mms(built: tuple[Az, str, str, str]) -> None:
    az, _, _, image_id = built
    proc = az("service", "create", "realtime", "--image-id", image_id, "-n", "Bad_Name")
    assert proc.returncode == 1 and "Service Name: Bad_Name is invalid." in proc.stderr
    assert "'Response Code': 400" in proc.stderr


def test_update_with_l_is_an_argparse_error(built: tuple[Az, str, str, str]) -> None:
    """The genuine `service update realtime` has no `-l`: usage error, exit 2, nothing sent."""
    az, _, _, _ = built
    proc = az("service", "update", "realtime", "-i", "zeroapp.anything", "-l", "false")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("ERROR: az ml service update realtime: error: unrecognized arguments: -l false\n")
    assert "usage: az ml service update realtime" in proc.stderr


def test_verbose_objects_keep_the_commands_table_columns(built: tuple[Az, str, str, str]) -> None:
    """The table transformer belongs to the command (registered with it in the genuine command table), so
    `-v` changes the rows (raw MMS objects) but not the table columns."""
    az, _, manifest_id, image_id = built
    for argv, columns in ((("model", "list"), ["Name", "Id", "Version", "CreatedAt"]),
                          (("manifest", "show", "-i", manifest_id), ["Name", "Id", "Version", "CreatedTime",
                                                                     "WebserviceType"]),
                          (("image", "show", "-i", image_id), ["Name", "Id", "Version", "CreatedTime",
                                                               "CreationState"])):
        plain = az(*argv, "-o", "table", check=True).stdout
        verbose = az(*argv, "-v", "-o", "table", check=True).stdout
        assert verbose.splitlines()[0].split() == columns and verbose == plain
