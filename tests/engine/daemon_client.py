"""Test helper: start a real daemon subprocess under a temporary MLOPS_HOME and talk to it."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


class DaemonProcess:
    """A daemon subprocess with a keep-alive HTTP client carrying the bearer token."""

    def __init__(self, home: Path, fake_supervisor: bool = True, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.fake = fake_supervisor
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.token = ""
        self.sub = ""
        self._conn: http.client.HTTPConnection | None = None

    def start(self, timeout: float = 15.0) -> DaemonProcess:
        env = dict(os.environ, MLOPS_HOME=str(self.home), **self.extra_env)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
        argv = [PYTHON, "-m", "mlops_engine.daemon"]
        if self.fake:
            argv += ["--supervisor-factory", "daemon_fakes:factory"]
        info = self.home / "daemon" / "daemon.json"
        before = info.read_text() if info.exists() else None
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "daemon-stdout.log", "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}: {self.stdout()}")
            if info.exists() and info.read_text() != before:
                data = json.loads(info.read_text())
                if data["pid"] == self.proc.pid:
                    self.port = data["port"]
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("daemon did not write daemon.json in time: " + self.stdout())
        self.token = (self.home / "daemon" / "token").read_text().strip()
        self._conn = None
        self.sub = self.get("/info").json()["subscriptionId"]
        return self

    def stdout(self) -> str:
        path = self.home / "daemon-stdout.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.request("POST", "/shutdown")
                self.proc.wait(10)
            except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._conn = None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._conn = None

    # --- HTTP -------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: object = None, raw: bytes | None = None, token: str | None = None
    ) -> Reply:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self._conn.request(method, path, body=data, headers=headers)
                resp = self._conn.getresponse()
                payload = resp.read()
                return Reply(resp.status, resp.getheaders(), payload)
            except (ConnectionError, http.client.HTTPException):
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    # --- resource helpers --------------------------------------------------------------
    def mms(self, rg: str = "rg1", acct: str = "acct") -> str:
        return f"/api/subscriptions/{self.sub}/resourceGroups/{rg}/accounts/{acct}"

    def create_account(self, rg: str = "rg1", name: str = "acct") -> Reply:
        path = f"/subscriptions/{self.sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningModelManagement/accounts/{name}"
        return self.request(
            "PUT",
            path,
            {"location": "eastus2", "sku": {"name": "S1", "capacity": 1}, "properties": {"description": ""}},
        )

    def env_path(self, name: str = "env1", rg: str = "rg1") -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningCompute/operationalizationClusters/{name}"

    def create_env(self, name: str = "env1", cluster: bool = True, wait: bool = True) -> dict:
        props: dict = {
            "clusterType": "ACS" if cluster else "Local",
            "containerRegistry": {},
            "globalServiceConfiguration": {"ssl": {"status": "Disabled"}},
            "storageAccount": {},
        }
        if cluster:
            props["containerService"] = {
                "agentCount": 2,
                "agentVmSize": "Standard_D3_v2",
                "masterCount": 1,
                "orchestratorType": "Kubernetes",
            }
        reply = self.request("PUT", self.env_path(name), {"location": "eastus2", "properties": props})
        assert reply.status in (200, 201), reply.text
        if not wait:
            return reply.json()
        return self.wait_for(
            lambda: self.get(self.env_path(name)).json(),
            lambda d: d["properties"]["provisioningState"] != "Creating",
        )

    def upload(self, data: bytes) -> str:
        reply = self.request("POST", "/artifacts", raw=data)
        assert reply.status == 201, reply.text
        assert reply.json()["sha256"] == hashlib.sha256(data).hexdigest()
        return reply.json()["url"]

    def wait_op(self, location: str, timeout: float = 60.0) -> dict:
        path = location.split(f":{self.port}", 1)[1]
        return self.wait_for(
            lambda: self.get(path).json(), lambda d: d["state"] in ("Succeeded", "Failed"), timeout
        )

    @staticmethod
    def wait_for(read, done, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        value = read()
        while not done(value):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last value {value!r}")
            time.sleep(0.05)
            value = read()
        return value


class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def targz(files: dict[str, bytes]) -> bytes:
    """A tar.gz of `files` (name -> content), as the CLI uploads models and dependencies."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


SCORE_OK = b"def init():\n    global model\n    model = open('model.pkl').read()\n\ndef run(data):\n    return model\n"
DRIVER = b"from score import init, run\nSCHEMA = 'service_schema.json'\n"


def make_image(
    d: DaemonProcess,
    name: str = "img",
    score: bytes = SCORE_OK,
    requirements: str = "packaging\n",
    conda: str | None = None,
    driver: bytes = DRIVER,
    schema: bytes | None = b'{"input": {}}',
    account: tuple[str, str] = ("rg1", "acct"),
) -> tuple[dict, dict]:
    """Register a model, create a manifest and build an image in `account` (rg, name); returns (operation, image)."""
    base = d.mms(*account)
    model_url = d.upload(targz({"model.pkl": b"MODEL"}))
    model = d.request(
        "POST",
        base + "/models",
        {
            "name": "model.pkl",
            "tags": [],
            "description": "",
            "url": model_url,
            "mimeType": "application/json",
            "unpack": True,
        },
    ).json()
    props = {"pipRequirements": d.upload(requirements.encode())}
    if conda is not None:
        props["condaEnvFile"] = d.upload(conda.encode())
    manifest = d.request(
        "POST",
        base + "/manifests",
        {
            "name": name,
            "description": None,
            "driverProgram": "driver",
            "modelType": "Registered",
            "modelIds": [model["id"]],
            "assets": [
                {"id": "driver", "url": d.upload(driver), "mimeType": "application/x-python"},
                {
                    "id": "dep1",
                    "url": d.upload(targz({"score.py": score})),
                    "mimeType": "application/octet-stream",
                    "unpack": True,
                },
            ]
            + (
                []
                if schema is None
                else [
                    {
                        "id": "dep2",
                        "url": d.upload(targz({"service_schema.json": schema})),
                        "mimeType": "application/octet-stream",
                        "unpack": True,
                    }
                ]
            ),
            "targetRuntime": {"runtimeType": "Python", "properties": props},
        },
    ).json()
    reply = d.request(
        "POST",
        base + "/images",
        {
            "name": name,
            "manifestId": manifest["id"],
            "description": None,
            "imageType": "Docker",
            "computeResourceId": d.env_path(),
        },
    )
    assert reply.status == 202, reply.text
    op = d.wait_op(reply.header("Operation-Location"))
    image_id = op["resourceLocation"].rsplit("/", 1)[1]
    return op, d.get(base + f"/images/{image_id}").json()


@pytest.fixture(name="daemon")
def daemon_fixture(tmp_path):
    """A running daemon (fake supervisor) with account rg1/acct and a Succeeded cluster env env1."""
    d = DaemonProcess(tmp_path / "home").start()
    try:
        assert d.create_account().status == 201
        yield d
    finally:
        d.stop()
