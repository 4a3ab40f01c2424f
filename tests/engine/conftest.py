"""Fixtures for the engine's fault and fuzz tests: a private engine per test, driven through the CLI.

`cli_engine` gives a `CliEngine` whose MLOPS_HOME lives in the test's tmp_path. Everything is done the way
a user does it (`az ml account modelmanagement create`, `env setup --cluster` + `env show` until
Succeeded, `env set`, `model register`, `manifest create`, `image create`, `service create realtime`);
the daemon's REST API is only read, for what the CLI hides on purpose (replica pids, live image).
Teardown stops the daemon with `daemon stop`, then checks that no process of that home is left (daemon
or replica, found by MLOPS_HOME in /proc/<pid>/environ or the home path in the command line); any
leftover is SIGKILLed (it can only be ours: it carries our private home) and reported as an error.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT, RG, ENV = "faultacct", "faultrg", "faultenv"


class CliEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.work = root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "MLOPS_DAEMON_PORT"}
        self.env = {
            **env,
            "MLOPS_HOME": str(self.home),
            "COLUMNS": "80",
            "MLOPS_POLL_INTERVAL": "0.05",
            "PYTHONWARNINGS": "ignore",
        }
        self._sub: str | None = None

    # -- the CLI -----------------------------------------------------------------------------------
    def az(
        self, *argv: str, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlops_engine", "ml", *argv],
            check=False,
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def az_ok(self, *argv: str, cwd: Path | None = None, timeout: float = 120) -> str:
        proc = self.az(*argv, cwd=cwd, timeout=timeout)
        assert proc.returncode == 0, (
            f"az ml {' '.join(argv)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
        return proc.stdout

    def az_json(self, *argv: str) -> Any:
        return json.loads(self.az_ok(*argv, "-o", "json"))

    @staticmethod
    def grab(pattern: str, text: str) -> str:
        found = re.search(pattern, text)
        assert found, f"{pattern!r} not in output:\n{text}"
        return found.group(1)

    def setup_cluster(self, timeout: float = 60) -> None:
        self.az_ok("account", "modelmanagement", "create", "-l", "eastus2", "-n", ACCOUNT, "-g", RG)
        self.az_ok("account", "modelmanagement", "set", "-n", ACCOUNT, "-g", RG)
        self.az_ok("env", "setup", "--cluster", "-n", ENV, "-l", "eastus2", "-g", RG, "-y")
        deadline = time.monotonic() + timeout
        while True:
            state = self.az_json("env", "show", "-n", ENV, "-g", RG)["Provisioning State"]
            if state == "Succeeded":
                break
            assert state in ("Creating", "Updating") and time.monotonic() < deadline, (
                f"environment ended {state}"
            )
            time.sleep(0.1)
        self.az_ok("env", "set", "-n", ENV, "-g", RG)

    def register_model(self, name: str = "model.txt", content: str = "fault-model-1") -> str:
        (self.work / name).write_text(content + "\n")
        return self.grab(r"Id: ([0-9a-f]{32})", self.az_ok("model", "register", "-m", name, "-n", name))

    def manifest(self, name: str, model_id: str, score: str, schema: str | None = None) -> str:
        folder = self.work / name
        folder.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / score, folder / "score.py")
        argv = ["manifest", "create", "-n", name, "-f", "score.py", "-r", "python", "-i", model_id]
        if schema:
            shutil.copy(FIXTURES / schema, folder / "service_schema.json")
            argv += ["-s", "service_schema.json"]
        return self.grab(r"Id: ([0-9a-f-]{36})", self.az_ok(*argv, cwd=folder))

    def image(self, name: str, manifest_id: str) -> str:
        out = self.az_ok("image", "create", "-n", name, "--manifest-id", manifest_id)
        return self.grab(r"Image ID: ([0-9a-f-]{36})", out)

    def build(self, name: str, model_id: str, score: str, schema: str | None = None) -> str:
        """manifest create + image create; returns the image id."""
        return self.image(name, self.manifest(name, model_id, score, schema))

    def create_service(self, name: str, image_id: str, replicas: int | None = None) -> str:
        argv = ["service", "create", "realtime", "-n", name, "--image-id", image_id]
        if replicas is not None:
            argv += ["-z", str(replicas)]
        return self.grab(r"Service ID: (\S+)", self.az_ok(*argv, timeout=180))

    def primary_key(self, service_id: str) -> str:
        return self.grab(r"PrimaryKey: (\S+)", self.az_ok("service", "keys", "realtime", "-i", service_id))

    def show(self, service_id: str) -> dict[str, Any]:
        """`service show realtime -i ID -v` (PascalCase, the full service object the CLI shows)."""
        data = self.az_json("service", "show", "realtime", "-i", service_id, "-v")
        assert isinstance(data, dict), data
        return data

    # -- the daemon, read-only ---------------------------------------------------------------------
    def daemon_info(self) -> dict[str, Any]:
        return json.loads((self.home / "daemon" / "daemon.json").read_text())

    def api(self, method: str, path: str, timeout: float = 10) -> tuple[int, Any]:
        token = (self.home / "daemon" / "token").read_text().strip()
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon_info()["port"], timeout=timeout)
        try:
            conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return resp.status, (json.loads(data) if data else None)

    @property
    def mms(self) -> str:
        if self._sub is None:
            self._sub = str(self.api("GET", "/info")[1]["subscriptionId"])
        return f"/api/subscriptions/{self._sub}/resourceGroups/{RG}/accounts/{ACCOUNT}"

    def service_record(self, service_id: str) -> dict[str, Any]:
        status, body = self.api("GET", f"{self.mms}/services/{service_id}")
        assert status == 200, (status, body)
        return body

    # -- processes ---------------------------------------------------------------------------------
    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process belonging to this engine home."""
        marker_env = f"MLOPS_HOME={self.home}".encode()
        marker_path = str(self.home).encode()
        found: dict[int, str] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmdline = fh.read()
                try:
                    with open(f"/proc/{entry}/environ", "rb") as fh:
                        environ = fh.read().split(b"\0")
                except OSError:
                    environ = []
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state == b"Z":  # a zombie holds no resources; its parent will reap it
                continue
            if marker_env in environ or marker_path in cmdline:
                found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        return found

    def shutdown(self, timeout: float = 20) -> dict[int, str]:
        """`daemon stop`, then wait for every process of this home to go; returns (and kills) leftovers."""
        try:
            subprocess.run(
                [sys.executable, "-m", "mlops_engine", "daemon", "stop"],
                check=False,
                env=self.env,
                capture_output=True,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        left = self.processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self.processes()
        for pid in left:  # carries our private MLOPS_HOME: it can only be a process this test started
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return left


@pytest.fixture
def cli_engine(tmp_path: Path):
    engine = CliEngine(tmp_path)
    try:
        yield engine
    finally:
        leftovers = engine.shutdown()
        assert not leftovers, f"processes of {engine.home} still alive after daemon stop: {leftovers}"
