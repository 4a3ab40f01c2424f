"""The CLI's one HTTP seam to the local Model Management daemon (docs/engine-api.md, section 1).

Finds the daemon through daemon/daemon.json and the 0600 token file, and starts it on first need
under an exclusive file lock, so two concurrent CLIs never start two daemons. Stdlib only: this is
on the path of every `az ml` call, whose wall time we keep under 0.15 s.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_engine.cli.errors import CliError, HttpError
from mlops_engine.paths import Paths
from mlops_engine.tokenfile import TokenFileError, read_token, repair_hint

START_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def _read_info(paths: Paths) -> tuple[int, str] | None:
    """(port, token) of the running daemon; None when none runs. A damaged token file of a running daemon is
    a CliError saying what to do (starting a second daemon on the same home would be worse)."""
    try:
        info = json.loads(paths.daemon_info.read_text())
        pid, port = int(info["pid"]), int(info["port"])
        os.kill(pid, 0)  # cheap liveness check; a stale file means "start it"
        return port, read_token(paths.token_file)
    except TokenFileError as exc:
        raise CliError(f"Error, {exc}, {repair_hint(exc.path, pid)}") from None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _private(path: Path) -> int:
    """An append descriptor on a file of the home, created 0600 (the home holds only private files)."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)


class Client:
    """Talks to the daemon; starts it when needed."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or Paths.default()
        self._port: int | None = None
        self._last_port: int | None = None
        self._token = ""
        self._conn: http.client.HTTPConnection | None = None

    @property
    def base_url(self) -> str:
        self._ensure()
        return f"http://127.0.0.1:{self._port}"

    # -- discovery and start-up ------------------------------------------------------------
    def _alive(self, port: int, token: str) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/info", headers={"Authorization": f"Bearer {token}"})
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def _ensure(self) -> None:
        if self._port is not None:
            return
        found = _read_info(self.paths)
        if found:  # trusted; a refused connection in request() restarts the daemon
            self._port, self._token = found
            return
        self._start()

    def _start(self) -> None:
        import fcntl

        self.paths.ensure()
        with os.fdopen(_private(self.paths.daemon_lock), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = _read_info(self.paths)
            if found and self._alive(*found):  # another CLI started it while we waited
                self._port, self._token = found
                return
            with os.fdopen(_private(self.paths.daemon_log), "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "mlops_engine.daemon"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    env={**os.environ, "MLOPS_HOME": str(self.paths.home)},
                )
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                found = _read_info(self.paths)
                if found and self._alive(*found):
                    self._port, self._token = found
                    return
                time.sleep(0.05)
            raise CliError(
                "Could not start the local Model Management service (exit code "
                f"{proc.poll()}). See {self.paths.daemon_log} for the reason."
            )

    # -- requests --------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Response:
        """One HTTP call; connection failures become a clear CliError."""
        self._ensure()
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {self._token}"}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream" if raw is not None else "application/json"
        restarted = False
        for attempt in range(3):
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=REQUEST_TIMEOUT_S)
                    self._conn.connect()
                    # headers and body go in separate writes: avoid the 40 ms delayed-ACK stall
                    self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conn.request(method, path, body=data, headers=headers)
                resp = self._conn.getresponse()
                answer = Response(resp.status, dict(resp.getheaders()), resp.read())
                if answer.status == 401:  # the token file no longer holds the running daemon's token
                    raise CliError(
                        f"Error, the local Model Management service rejected the token in {self.paths.token_file}, "
                        + repair_hint(self.paths.token_file, None)
                    )
                return answer
            except ConnectionRefusedError as exc:  # never reached the daemon: safe to start it and retry
                self._conn = None
                if restarted:
                    raise CliError(self._died_message(exc)) from None
                self._last_port, self._port = self._port, None
                self._start()
                restarted = True
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine) as exc:
                self._conn = None
                if method != "GET" or attempt == 2:  # a write may have happened: let the user check
                    raise CliError(self._died_message(exc)) from exc
            except OSError as exc:
                self._conn = None
                raise CliError(self._died_message(exc)) from exc
        raise AssertionError("unreachable")

    def _died_message(self, exc: BaseException) -> str:
        return (
            f"Error connecting to the local Model Management service at "
            f"http://127.0.0.1:{self._port or self._last_port} "
            f"({exc.__class__.__name__}). It may have stopped during this command: run the command again "
            f"(it restarts the service), then check with 'az ml ... show' whether the change was made. "
            f"Log: {self.paths.daemon_log}"
        )

    def call(self, method: str, path: str, body: Any = None, error: str = "", ok: tuple[int, ...] = (200,)) -> Any:
        """Request and decode JSON; a non-`ok` status raises the legacy repr error with `error` as message."""
        resp = self.request(method, path, body)
        if resp.status not in ok:
            raise HttpError(error or "Error occurred.", resp.status, resp.headers, resp.body)
        return resp.json()
