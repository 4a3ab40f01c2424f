"""Helpers shared by the replica and supervisor tests: tiny bundles, a replica under test, raw HTTP."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlops_engine.serving.messages import Command, Config, Event, Ready, Serve, decode_event
from mlops_engine.serving.process import REPLICA_MODULE

PYTHON = sys.executable

CHURN_SWAGGER = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "age": {"type": "integer", "format": "int64"},
            "charges": {"type": "number", "format": "double"},
            "plan": {"type": "string"},
            "active": {"type": "boolean"},
        },
    },
    "example": [{"age": 12, "charges": 70.5, "plan": "basic", "active": True}],
}
PANDAS_SCHEMA = {"input": {"input_df": {"internal": "gANjZmFrZQ==", "swagger": CHURN_SWAGGER, "type": 3}}}
ROW = {"age": 12, "charges": 70.5, "plan": "basic", "active": True}

TRIVIAL = """
import json
def init():
    pass
def run(raw):
    return json.dumps("0")
"""


def make_bundle(root: Path, score: str, schema: dict[str, Any] | None = None, name: str = "bundle") -> Path:
    """A minimal image bundle (docs/engine-api.md section 3)."""
    bundle = root / name
    app = bundle / "app"
    app.mkdir(parents=True)
    (app / "score.py").write_text(score)
    if schema is not None:
        (app / "service_schema.json").write_text(json.dumps(schema))
    image = {
        "id": name,
        "name": name,
        "version": 1,
        "driver": "score.py",
        "schema": "service_schema.json" if schema is not None else None,
        "runtime": "python",
    }
    (bundle / "image.json").write_text(json.dumps(image))
    return bundle


def listen() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class Replica:
    """One replica process on its own listening socket, driven like the supervisor does (same argv, typed
    messages, no PYTHONPATH: the engine is installed in the test interpreter)."""

    def __init__(
        self,
        bundle: Path,
        log_dir: Path,
        mode: str = "local",
        keys: tuple[str, str] | None = None,
        name: str = "svc",
        sock: socket.socket | None = None,
    ) -> None:
        self.sock = sock or listen()
        self.port = self.sock.getsockname()[1]
        self.out = log_dir / f"replica-{os.getpid()}-{time.monotonic_ns()}.out"
        self.err = self.out.with_suffix(".err")
        status_r, status_w = os.pipe()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.t0 = time.monotonic()
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [
                    PYTHON,
                    "-P",
                    "-m",
                    REPLICA_MODULE,
                    "--bundle",
                    str(bundle),
                    "--listen-fd",
                    str(self.sock.fileno()),
                    "--status-fd",
                    str(status_w),
                    "--service-name",
                    name,
                    "--mode",
                    mode,
                ],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                pass_fds=(self.sock.fileno(), status_w),
                env=env,
            )
        os.close(status_w)
        self.status = os.fdopen(status_r, "rb")
        self.send(Config(keys=keys))

    def send(self, command: Command) -> None:
        self.send_raw(command.encode())

    def send_raw(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def wait_event(self, timeout: float = 20.0) -> Event:
        import select

        ready, _, _ = select.select([self.status], [], [], timeout)
        assert ready, "no status event from the replica"
        line = self.status.readline()
        assert line, f"status pipe closed without an event; stderr:\n{self.err.read_text()}"
        return decode_event(line)

    def start(self) -> Replica:
        event = self.wait_event()
        assert isinstance(event, Ready), (event, self.err.read_text())
        self.health_port = event.health_port
        self.ready_s = time.monotonic() - self.t0
        self.send(Serve())
        return self

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.status.close()
        self.sock.close()


def request(
    port: int, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, expect_responses: int = 1, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until `expect_responses` complete responses (or EOF)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while True:
            if _count_responses(buf) >= expect_responses:
                return buf
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk


def _count_responses(buf: bytes) -> int:
    n = 0
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return n
        head = buf[:head_end].lower()
        i = head.find(b"content-length:")
        length = int(head[i + 15 :].split(b"\r\n", 1)[0]) if i >= 0 else 0
        if len(buf) < head_end + 4 + length:
            return n
        buf = buf[head_end + 4 + length :]
        n += 1
