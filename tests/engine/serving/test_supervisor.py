"""Supervisor: real replica processes behind one listening port; swaps, failures, restarts, stop."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Self

import pytest

from mlops_engine.serving.api import ServiceSpec
from mlops_engine.serving.messages import PROTOCOL_VERSION, Config
from mlops_engine.serving.supervisor import ReplicaSupervisor as Supervisor

from .replica_support import PYTHON, TRIVIAL, make_bundle, request

V2 = TRIVIAL.replace('json.dumps("0")', 'json.dumps("v2")')
BROKEN = (
    "def init():\n    raise RuntimeError('model file missing: model.pkl')\ndef run(raw):\n    return raw\n"
)


@pytest.fixture
def sup():
    s = Supervisor(PYTHON, ready_timeout=20, drain_timeout=2)
    yield s
    s.shutdown()


def spec(tmp_path: Path, bundle: Path, replicas: int = 2, port: int = 0, **kw) -> ServiceSpec:
    return ServiceSpec(
        service_id="svc1",
        name="svc1",
        mode=kw.pop("mode", "local"),
        port=port,
        image_id=bundle.name,
        bundle_dir=bundle,
        replicas=replicas,
        log_dir=tmp_path / "logs",
        **kw,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Load:
    """N threads scoring over keep-alive connections; records every failure."""

    def __init__(self, port: int, threads: int = 4) -> None:
        self.port = port
        self.ok = 0
        self.bodies: set[bytes] = set()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            try:
                conn.request("POST", "/score", body="x")
                resp = conn.getresponse()
                body = resp.read()
                with self._lock:
                    if resp.status == 200:
                        self.ok += 1
                        self.bodies.add(body)
                    else:
                        self.failures.append(f"{resp.status} {body!r}")
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.failures.append(repr(exc))
                conn.close()
        conn.close()


def test_start_serves_on_one_port_with_status(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    t0 = time.monotonic()
    result = sup.start(spec(tmp_path, bundle))
    assert result.ok, result
    assert time.monotonic() - t0 < 3
    status = sup.status("svc1")
    assert status.port == result.port and status.live_image_id == "img1"
    assert [r.state for r in status.replicas] == ["serving", "serving"]
    assert request(result.port, "POST", "/score", "x")[0] == 200
    assert (tmp_path / "logs" / "replica-0.log").exists() and (tmp_path / "logs" / "replica-1.log").exists()
    assert sup.status("nope") is None


def test_swap_under_load_keeps_port_and_loses_nothing(sup, tmp_path):
    v1 = make_bundle(tmp_path, TRIVIAL, name="img1")
    v2 = make_bundle(tmp_path, V2, name="img2")
    first = sup.start(spec(tmp_path, v1))
    assert first.ok
    old_pids = {r.pid for r in sup.status("svc1").replicas}
    with Load(first.port) as load:
        time.sleep(0.5)
        result = sup.deploy(spec(tmp_path, v2))
        assert result.ok and result.port == first.port
        time.sleep(1.5)
    assert load.failures == []
    assert load.ok > 100
    assert load.bodies == {b'"0"', b'"v2"'}  # both versions answered during the swap
    status = sup.status("svc1")
    assert status.live_image_id == "img2"
    serving = [r for r in status.replicas if r.state == "serving"]
    assert len(serving) == 2 and all(r.image_id == "img2" for r in serving)
    deadline = time.monotonic() + 6  # drain timeout 2 s + kill grace
    while any(alive(p) for p in old_pids):
        assert time.monotonic() < deadline, "old replicas did not exit after the drain"
        time.sleep(0.05)


def test_deploy_broken_image_keeps_old_serving(sup, tmp_path):
    v1 = make_bundle(tmp_path, TRIVIAL, name="img1")
    broken = make_bundle(tmp_path, BROKEN, name="broken")
    first = sup.start(spec(tmp_path, v1))
    assert first.ok
    before = {r.pid for r in sup.status("svc1").replicas}
    with Load(first.port, threads=2) as load:
        result = sup.deploy(spec(tmp_path, broken))
        time.sleep(0.3)
    assert not result.ok and result.port == first.port
    assert "init() failed" in result.error and "model file missing" in result.error
    assert "RuntimeError: model file missing: model.pkl" in result.log_tail
    assert len(result.log_tail.splitlines()) <= 30
    assert load.failures == [] and load.ok > 0
    status = sup.status("svc1")
    assert status.live_image_id == "img1" and {r.pid for r in status.replicas} == before


def test_start_broken_image_fails_without_leftovers(sup, tmp_path):
    broken = make_bundle(tmp_path, BROKEN, name="broken")
    result = sup.start(spec(tmp_path, broken, replicas=1))
    assert not result.ok and "model file missing" in result.log_tail
    assert sup.status("svc1") is None


def test_killed_replica_is_restarted_quickly(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    result = sup.start(spec(tmp_path, bundle))
    assert result.ok
    victim = sup.status("svc1").replicas[0].pid
    with Load(result.port, threads=2) as load:
        time.sleep(0.2)
        os.kill(victim, 9)
        t0 = time.monotonic()
        while True:
            reps = sup.status("svc1").replicas
            if victim not in {r.pid for r in reps} and [r.state for r in reps] == ["serving", "serving"]:
                break
            assert time.monotonic() - t0 < 2.0, reps
            time.sleep(0.02)
        restart_s = time.monotonic() - t0
        time.sleep(0.3)
    assert restart_s < 2.0
    assert sup.status("svc1").replicas[0].restarts == 1
    # connections that lived on the killed process may fail; the service keeps answering
    assert load.ok > 0
    assert request(result.port, "POST", "/score", "x")[0] == 200


def test_cluster_keys_and_rotation(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    result = sup.start(spec(tmp_path, bundle, replicas=1, mode="cluster", keys=("k-primary", "k-secondary")))
    assert result.ok
    path = "/api/v1/service/svc1/score"
    assert request(result.port, "POST", path, "x")[0] == 401
    assert request(result.port, "POST", path, "x", {"Authorization": "Bearer k-secondary"})[0] == 200
    sup.set_keys("svc1", ("k-new", "k-secondary"))
    deadline = time.monotonic() + 3
    while request(result.port, "POST", path, "x", {"Authorization": "Bearer k-new"})[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert request(result.port, "POST", path, "x", {"Authorization": "Bearer k-primary"})[0] == 401
    logs = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    assert "k-primary" not in logs and "k-new" not in logs


def test_stop_leaves_no_processes_and_frees_port(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    result = sup.start(spec(tmp_path, bundle))
    pids = [r.pid for r in sup.status("svc1").replicas]
    conn = http.client.HTTPConnection("127.0.0.1", result.port, timeout=5)  # an idle keep-alive client
    conn.request("GET", "/")
    conn.getresponse().read()
    t0 = time.monotonic()
    sup.stop("svc1")
    assert time.monotonic() - t0 < 6
    conn.close()
    assert not any(alive(p) for p in pids)
    assert sup.status("svc1") is None
    with pytest.raises(ConnectionRefusedError):
        request(result.port, "GET", "/")
    again = sup.start(spec(tmp_path, bundle, port=result.port))  # the same port can be bound again
    assert again.ok and again.port == result.port


def test_shutdown_stops_every_service(tmp_path):
    s = Supervisor(PYTHON, ready_timeout=20, drain_timeout=1)
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    a = s.start(spec(tmp_path, bundle, replicas=1))
    b = s.start(ServiceSpec("svc2", "svc2", "local", 0, "img1", bundle, 1, log_dir=tmp_path / "logs2"))
    assert a.ok and b.ok and a.port != b.port
    pids = [r.pid for sid in ("svc1", "svc2") for r in s.status(sid).replicas]
    s.shutdown()
    assert not any(alive(p) for p in pids)


def test_replicas_exit_when_the_daemon_dies(tmp_path):
    """kill -9 of the supervisor's process: replicas see EOF on stdin, drain and exit (no orphans)."""
    import signal
    import subprocess

    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    script = f"""
import sys, json
from pathlib import Path
from typing import Self
from mlops_engine.serving.api import ServiceSpec
from mlops_engine.serving.supervisor import ReplicaSupervisor as Supervisor
sup = Supervisor(sys.executable, ready_timeout=20)
r = sup.start(ServiceSpec("d", "d", "local", 0, "img1", Path({str(bundle)!r}), 2, log_dir=Path({str(tmp_path / "dl")!r})))
print(json.dumps({{"ok": r.ok, "port": r.port, "pids": [x.pid for x in sup.status("d").replicas]}}), flush=True)
sys.stdin.read()
"""
    daemon = subprocess.Popen(
        [PYTHON, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        info = json.loads(daemon.stdout.readline())
        assert info["ok"]
        assert request(info["port"], "GET", "/")[0] == 200
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=5)
        deadline = time.monotonic() + 10  # EOF drain timeout is 5 s
        while any(alive(p) for p in info["pids"]):
            assert time.monotonic() < deadline, "replicas outlived the daemon"
            time.sleep(0.1)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.wait()
        daemon.stdin.close()
        daemon.stdout.close()


def test_restart_backoff_grows_for_a_crash_loop(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    assert sup.start(spec(tmp_path, bundle, replicas=1)).ok
    delays = []
    for expected_restarts in (1, 2):
        victim = sup.status("svc1").replicas[0].pid
        os.kill(victim, 9)
        t0 = time.monotonic()
        while True:
            reps = sup.status("svc1").replicas
            if reps and reps[0].pid != victim and reps[0].state == "serving":
                break
            assert time.monotonic() - t0 < 3, reps
            time.sleep(0.01)
        delays.append(time.monotonic() - t0)
        assert reps[0].restarts == expected_restarts
    assert delays[1] >= 0.25 and delays[0] < 2.0  # first restart at once, the next one after 0.25 s


def test_start_and_deploy_each_refuse_the_other_ones_case(sup, tmp_path):
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    v2 = make_bundle(tmp_path, V2, name="img2")
    missing = sup.deploy(spec(tmp_path, v2, replicas=1))
    assert not missing.ok and missing.error == "Service svc1 is not running"
    assert sup.status("svc1") is None  # deploy() did not start it
    first = sup.start(spec(tmp_path, bundle, replicas=1))
    assert first.ok
    pids = {r.pid for r in sup.status("svc1").replicas}
    again = sup.start(spec(tmp_path, v2, replicas=1))
    assert not again.ok and again.error == "Service svc1 is already running"
    status = sup.status("svc1")
    assert status.live_image_id == "img1" and {r.pid for r in status.replicas} == pids  # start() did not swap
    assert request(first.port, "POST", "/score", "x")[2] == b'"0"'


def test_nothing_starts_after_shutdown(tmp_path):
    s = Supervisor(PYTHON, ready_timeout=20, drain_timeout=1)
    s.shutdown()
    result = s.start(spec(tmp_path, make_bundle(tmp_path, TRIVIAL, name="img1"), replicas=1))
    assert not result.ok and result.error == "The supervisor is shut down"
    assert s.status("svc1") is None


def test_an_interpreter_that_cannot_run_fails_the_start_and_frees_the_port(tmp_path):
    s = Supervisor(str(tmp_path / "no-such-python"), ready_timeout=20)
    try:
        result = s.start(spec(tmp_path, make_bundle(tmp_path, TRIVIAL, name="img1"), replicas=2))
        assert not result.ok
        assert result.error.startswith(f"Cannot start a replica with {tmp_path / 'no-such-python'}: ")
        assert s.status("svc1") is None
        with socket.socket() as probe:  # the service's port was released
            probe.bind(("127.0.0.1", result.port))
    finally:
        s.shutdown()


def test_a_replica_of_another_protocol_version_fails_the_start_with_the_reason(sup, tmp_path, monkeypatch):
    from mlops_engine.serving import process

    monkeypatch.setattr(process, "Config", lambda keys: Config(keys=keys, version=PROTOCOL_VERSION + 1))
    result = sup.start(spec(tmp_path, make_bundle(tmp_path, TRIVIAL, name="img1"), replicas=1))
    assert not result.ok
    assert f"control protocol version {PROTOCOL_VERSION + 1} and this replica version {PROTOCOL_VERSION}" in (
        result.error
    )
    assert sup.status("svc1") is None
