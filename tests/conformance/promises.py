"""What the engine promises instead, for each transcript it deliberately does not reproduce.

docs/compatibility.md lists the deliberate differences from the legacy CLI; each entry of PROMISES turns one of
them into assertions on the replayed command: the exit code, the lines that must (and must not) appear, or the
clear error. Where the promise is about engine state (a service really created, a Dockerfile really written, key
values never printed), `observe` reads that state right after the command ran, before later transcripts change
it, and the facts travel with the replay.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from mlops_engine import __version__
from tests.conformance.harness import TRANSCRIPTS, Transcript, load, normalize


class EngineView(Protocol):
    """What an observer may use of the conformance engine (tests.conformance.test_conformance.Engine)."""

    home: Path

    def az(self, argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]: ...

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]: ...


@dataclass(frozen=True)
class Replayed:
    """One transcript replayed against the engine."""

    transcript: Transcript
    argv: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int
    setup_error: str | None = None  # the transcript's preconditions could not be created: it fails
    facts: Mapping[str, Any] = field(default_factory=dict)  # read by the promise's observer right after the run


Observer = Callable[[EngineView, Replayed], Mapping[str, Any]]
Check = Callable[[Replayed], None]


@dataclass(frozen=True)
class Promise:
    """The reason a transcript differs (docs/compatibility.md) and the check of what is promised instead."""

    reason: str
    check: Check
    observe: Observer | None = None


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _error_json(stderr: str) -> Any:
    assert stderr.startswith("ERROR: {"), f"expected a legacy ERROR block on stderr, got:\n{stderr}"
    return json.loads(stderr[len("ERROR: "):])


def _exit(r: Replayed, code: int) -> None:
    assert r.exit_code == code, f"exit code {r.exit_code}, expected {code}\n{r.stdout}\n{r.stderr}"


def _no_dashboard_line(r: Replayed) -> None:
    """env set / env cluster: the recorded output without the kubectl dashboard line, nothing else changed."""
    _exit(r, r.transcript.exit_code)
    expected = [line for line in _lines(r.transcript.stdout) if not line.startswith("Kubectl dashboard started")]
    assert _lines(r.stdout) == expected and r.stderr == ""


def _env_show_v(r: Replayed) -> None:
    """env show -v: the recorded document, with the engine's version as the ScoringFrontEnd version."""
    _exit(r, 0)
    recorded = normalize(r.transcript.stdout)
    assert recorded.count('"version": "2017-11-01"') == 1
    assert normalize(r.stdout) == recorded.replace('"version": "2017-11-01"', f'"version": "{__version__}"')
    assert r.stderr == ""


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def _credentials(r: Replayed) -> None:
    """env get-credentials: the same document shape, every secret generated locally, a loopback kubeconfig."""
    _exit(r, 0)
    recorded, actual = json.loads(r.transcript.stdout), json.loads(r.stdout)
    assert _shape(actual) == _shape(recorded)
    secrets = [v for v in _leaves(recorded) if isinstance(v, str)]
    assert all(v for v in _leaves(actual) if isinstance(v, str)), "an empty credential"
    assert not [v for v in _leaves(actual) if v in secrets], "a recorded (Azure) value was returned"
    kubeconfig = yaml.safe_load(actual["containerService"]["acsKubeConfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("http://127.0.0.1"), kubeconfig
    assert r.stderr == ""


_BUNDLE = re.compile(r"^    The image bundle is at (\S+) \(with a generated Dockerfile\)\.$", re.MULTILINE)


def _observe_bundle(engine: EngineView, r: Replayed) -> Mapping[str, Any]:
    found = _BUNDLE.search(r.stdout)
    dockerfile = Path(found.group(1)) / "Dockerfile" if found else None
    return {"dockerfile": dockerfile.read_text() if dockerfile and dockerfile.is_file() else None,
            "images": str(engine.home / "images")}


def _image_usage(r: Replayed) -> None:
    """image usage: the service instructions as recorded, then how to build the bundle's generated Dockerfile."""
    _exit(r, 0)
    recorded_service_part = normalize(r.transcript.stdout).split("\n\n")[0]
    service_part, _, build_part = normalize(r.stdout).partition("\n\n")
    assert service_part == recorded_service_part
    found = _BUNDLE.search(r.stdout)
    assert found, r.stdout
    bundle = found.group(1)
    image_id = r.argv[r.argv.index("-i") + 1]
    assert bundle == f"{r.facts['images']}/{image_id}", bundle
    assert _lines(r.stdout)[-3:] == [
        "Docker Build Instructions:",
        f"    The image bundle is at {bundle} (with a generated Dockerfile).",
        (f"    Run 'docker build -t irisimage:1 {bundle}' to build it into a container image where a Docker engine "
         "is available"),
    ], build_part
    assert r.facts["dockerfile"] and r.facts["dockerfile"].splitlines()[-1] == 'CMD ["python", "driver.py"]'
    assert r.stderr == ""


def _service_create_fail(r: Replayed) -> None:
    """A replica whose init() fails: the recorded failure, with the replica's own log instead of kubectl noise."""
    _exit(r, 1)
    out = _lines(normalize(r.stdout))
    assert out[0] == normalize(r.transcript.stdout).splitlines()[0]  # Creating service<DOTS>Failed
    assert out[1] == "Last lines of the failing replica's log:"
    assert out[-1] == "init() failed: RuntimeError: model file is corrupt: cannot initialise", out
    assert "WARNING" not in r.stderr
    recorded = json.loads(r.transcript.stderr[r.transcript.stderr.index("ERROR: ") + len("ERROR: "):])
    actual = _error_json(r.stderr)
    content, recorded_content = actual["Response Content"], recorded["Response Content"]
    for key in ("OperationType", "State"):
        assert content[key] == recorded_content[key]
    error, recorded_error = content["Error"], recorded_content["Error"]
    for key in ("Code", "Message", "StatusCode"):
        assert error[key] == recorded_error[key]
    assert error["Details"][0] == recorded_error["Details"][0]  # CrashLoopBackOff, the legacy message
    assert error["Details"][1]["Code"] == "ReplicaLog"
    assert "RuntimeError: model file is corrupt: cannot initialise" in error["Details"][1]["Message"]
    service_id = content["ResourceLocation"].rsplit("/", 1)[1]
    assert service_id.startswith("irisbroken.mlenv-")
    assert actual["Error"]["Log information"] == f"Run 'az ml service logs realtime -i {service_id}' to view more logs"


_SERVICE_ID = re.compile(r"^Service ID: (\S+)$", re.MULTILINE)


def _observe_service(engine: EngineView, r: Replayed) -> Mapping[str, Any]:
    found = _SERVICE_ID.search(r.stdout)
    if not found:
        return {}
    status, services = engine.api("GET", _services_path(engine))
    assert status == 200, services
    return {"service": next((s for s in services["value"] if s["id"] == found.group(1)), None)}


def _services_path(engine: EngineView) -> str:
    sub = engine.api("GET", "/info")[1]["subscriptionId"]
    return f"/api/subscriptions/{sub}/resourceGroups/mlenvrg/accounts/mlacct/services"


def _autoscale(r: Replayed) -> None:
    """--autoscale-enabled true without -z: the service is created like any other, autoscale settings stored,
    minReplicas (default 1) running."""
    _exit(r, 0)
    plain_create = load(TRANSCRIPTS / "50_service_create.txt")
    assert normalize(r.stdout) == normalize(plain_create.stdout).replace("irisapp", "irisauto")
    assert r.stderr == ""
    service = r.facts["service"]
    assert service is not None and service["state"] == "Succeeded", service
    assert service["autoScaler"]["autoscaleEnabled"] is True, service["autoScaler"]
    assert [replica["state"] for replica in service["replicas"]] == ["serving"], service["replicas"]


def _logs_without_kubeconfig(r: Replayed) -> None:
    """service logs -k <missing file>: a clear error naming the file and what to do, not a TypeError repr."""
    _exit(r, 1)
    assert r.stdout == ""
    assert _error_json(r.stderr)["Error"] == (
        "Failed loading kubeconfig file: no such file /nonexistent/kubeconfig. "
        "The local engine reads replica logs directly; run the command without -k."
    )


def _local_list(r: Replayed) -> None:
    """Local-mode service list needs no Docker: it lists the local services (setup created `irislocal`)."""
    _exit(r, 0)
    assert r.stderr == ""
    rows = json.loads(r.stdout)
    assert [(row["Name"], row["Id"], row["Image"], row["State"]) for row in rows] == [
        ("irislocal", "irislocal", "local/irisimage:1", "running")], rows


def _observe_keys(engine: EngineView, r: Replayed) -> Mapping[str, Any]:
    service_id = r.argv[r.argv.index("-i") + 1]
    proc = engine.az(["service", "keys", "realtime", "-i", service_id])
    return {"keys": re.findall(r"^(?:Primary|Secondary)Key: (\S+)$", proc.stdout, re.MULTILINE)}


def _run_verbose(r: Replayed) -> None:
    """service run -v: the debug lines of the recording, without the service document and the key answer (whose
    body carries the keys); the scoring answer is the body as the replica sent it (encoded once)."""
    _exit(r, 0)
    recorded = _lines(normalize(r.transcript.stdout))
    out = _lines(normalize(r.stdout))
    header = re.compile(r"^Headers: \{'.*'\}$")
    assert out[:3] == recorded[:3]  # data, "Successfully got service to score against", Status Code: 200
    assert header.match(out[3]), out[3]
    assert out[4] == "Successfully got keys for service"
    assert out[5:8] == recorded[9:12]  # the two [Debug] lines and "Got result from scoring request at ..."
    assert out[8] == "Status Code: 200" and header.match(out[9]), out[8:10]
    assert out[10:] == ["Content: b'[\"Iris-setosa\"]'", '["Iris-setosa"]']
    assert len(r.facts["keys"]) == 2, r.facts
    for key in r.facts["keys"]:
        assert key not in r.stdout and key not in r.stderr, "a service key was printed"
    assert r.stderr == ""


PROMISES: dict[str, Promise] = {
    "11_env_set": Promise("Azure-only line: the kubectl dashboard (no Kubernetes proxy is started locally)",
                          _no_dashboard_line),
    "19c_env_cluster": Promise("Azure-only line: the kubectl dashboard", _no_dashboard_line),
    "88_env_cluster": Promise("Azure-only line: the kubectl dashboard", _no_dashboard_line),
    "13_env_show_v": Promise("the ScoringFrontEnd system service reports the local engine's version, not 2017-11-01",
                             _env_show_v),
    "19_env_getcreds": Promise(
        "credentials are the local engine's own (no ACR login server, kubeconfig or storage keys)", _credentials),
    "49_image_usage": Promise(
        "no container registry to pull from: prints how to build the bundle's Dockerfile instead", _image_usage,
        _observe_bundle),
    "53_service_create_fail": Promise(
        "stderr holds urllib3 warnings of the kubectl log fetch; we print the replica log", _service_create_fail),
    "53b_service_create_autoscale_bug": Promise(
        "crash bug KeyError('numReplicas') fixed: the service is created", _autoscale, _observe_service),
    "70_service_logs_nokube": Promise(
        "crash bug (TypeError repr) replaced by a clear error about the missing kubeconfig", _logs_without_kubeconfig),
    "85_local_service_list_nodocker": Promise("local services need no Docker: the list is printed", _local_list),
    "92_service_run_v": Promise("-v dumps the raw service and key HTTP answers (key values redacted here)",
                                _run_verbose, _observe_keys),
}
