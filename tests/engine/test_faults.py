"""Faults, tested for real: a private engine per test, driven through `az ml`, real replicas, real signals.

Each test builds its own engine home in tmp_path (see conftest.CliEngine), puts a bounded keep-alive load
on a cluster-mode service from loadgen.LoadGen (4 threads, Bearer <primary key>, 127.0.0.1 only), injects
one fault and counts every request that did not get a 2xx. Nothing is retried by the client, so the
numbers are what a caller would see. The measured figures are printed (run with -s to see them).

Bounds and why:
* kill -9 of one replica: a request fails only if it was on a keep-alive connection owned by the killed
  process (in flight, or sent before the client saw the reset). Each load thread holds exactly one
  connection, so at most THREADS requests can be lost; connections waiting in the shared listen queue
  are not lost (the queue belongs to the socket, which the daemon and the other replica keep open).
* update / rollback and failed update: the engine drains old replicas (Connection: close on the next
  response, then exit), so a caller sees no failure at all: the bound is 0.
* kill -9 of the daemon: the replicas see EOF on their control pipe and exit (no orphans); the service is
  down until the next CLI command restarts the daemon, which re-binds the same port and restarts the
  services. Requests during that window fail by design; the test bounds the restart latency instead.
* kill -9 of every replica at once: same bound as one replica (THREADS), and never a refused connection
  (the daemon keeps the listening socket open, so new connections wait in its accept queue).
* kill -9 of the daemon in the middle of an update (new replicas still in a 2 s init()): the operation
  ends Failed, and after the next CLI command the service serves its old image again.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from mlops_engine.serving.process import REPLICA_MODULE

from .conftest import CliEngine
from .loadgen import LoadGen

THREADS = 4
REPLACE_WITHIN = 2.0  # seconds: a SIGKILLed replica must have a serving replacement by then
RESTART_WITHIN = 15.0  # seconds: from the first CLI command after the daemon died to the URL answering again
SWAPS = int(os.environ.get("MLOPS_FAULT_SWAPS", "20"))  # update + rollback pairs under load
BODY = json.dumps({"ping": "fault-test"}).encode()


def _deploy(engine: CliEngine, replicas: int | None = None, name: str = "faultsvc") -> dict[str, Any]:
    engine.setup_cluster()
    model = engine.register_model()
    image_a = engine.build("imga", model, "score_v1.py")
    sid = engine.create_service(name, image_a, replicas)
    key = engine.primary_key(sid)
    record = engine.service_record(sid)
    assert record["state"] == "Succeeded", record
    return {
        "model": model,
        "image": image_a,
        "id": sid,
        "key": key,
        "url": record["scoringUri"],
        "record": record,
    }


def _load(url: str, key: str, **kw: Any) -> LoadGen:
    return LoadGen(url, BODY, {"Authorization": f"Bearer {key}"}, threads=THREADS, **kw)


def _replicas(engine: CliEngine, sid: str) -> list[dict[str, Any]]:
    return list(engine.service_record(sid)["replicas"])


def _serving(engine: CliEngine, sid: str) -> list[dict[str, Any]]:
    return [r for r in _replicas(engine, sid) if r["state"] == "serving"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _replica_processes(engine: CliEngine) -> dict[int, str]:
    return {pid: cmd for pid, cmd in engine.processes().items() if REPLICA_MODULE in cmd}


def _server_pid(port: int, client_port: int, pids: set[int]) -> int | None:
    """Which of pids holds the server end of the loopback TCP connection 127.0.0.1:client_port -> :port."""
    inode = None
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":"), fields[2].split(":")
            if int(local[1], 16) == port and int(remote[1], 16) == client_port:
                inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


def _served_by(url: str, key: str, pids: set[int]) -> int | None:
    """Send one request on a fresh connection; the pid (among pids) that accepted it."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=5)
    try:
        conn.request("POST", parts.path, body=BODY, headers={"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        return _server_pid(parts.port, conn.sock.getsockname()[1], pids)  # keep-alive: still open server side
    finally:
        conn.close()


def _versions(stats: Any) -> set[int]:
    """The score files' version numbers seen in 2xx bodies. run() returns a JSON text; the replica sends it
    either JSON-encoded again (legacy) or as is (both accepted: the encoding is not what these tests test)."""
    versions = set()
    for body in stats.bodies:
        value = json.loads(body)
        versions.add((json.loads(value) if isinstance(value, str) else value)["version"])
    return versions


def _wait(predicate: Any, timeout: float, interval: float = 0.02, state: Any = None) -> float:
    """Poll until predicate() is truthy; returns the seconds it took, or raises AssertionError naming what
    was awaited (the predicate's docstring) and, if given, what state() says at that moment."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            what = predicate.__doc__ or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(
                f"not true within {timeout}s: {what}" + (f"; state: {state()}" if state else "")
            )
        time.sleep(interval)
    return time.monotonic() - start


@pytest.mark.slow
def test_kill_replica_under_load(cli_engine: CliEngine) -> None:
    svc = _deploy(cli_engine, replicas=2)
    before = _serving(cli_engine, svc["id"])
    assert len(before) == 2, before
    victim = before[0]["pid"]
    assert victim in cli_engine.processes(), (
        "the replica pid the daemon reports is not a process of this home"
    )

    load = _load(svc["url"], svc["key"], max_seconds=30).start()
    try:
        load.wait_for_ok(200)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            """two serving replicas again, the killed one not among them, every one a live process"""
            serving = _serving(cli_engine, svc["id"])
            return (
                len(serving) == 2
                and victim not in {r["pid"] for r in serving}
                and all(_alive(r["pid"]) for r in serving)
            )

        replace_s = _wait(replaced, timeout=10)
        newcomer = ({r["pid"] for r in _serving(cli_engine, svc["id"])} - {before[1]["pid"]}).pop()

        def newcomer_accepts() -> bool:
            """the replacement replica accepts connections on the shared socket"""
            return _served_by(svc["url"], svc["key"], {newcomer, before[1]["pid"]}) == newcomer

        _wait(newcomer_accepts, timeout=max(REPLACE_WITHIN - (time.monotonic() - killed_at), 0.1), interval=0)
        accepts_s = time.monotonic() - killed_at
        load.wait_for_ok(1000)  # the service keeps answering after the replacement
    finally:
        stats = load.stop()
    after = _replicas(cli_engine, svc["id"])
    late = [f for f in stats.failures if f.at < killed_at or f.at > killed_at + replace_s + 1.0]
    print(
        f"\n[kill replica] {stats.summary()}; replacement serving after {replace_s * 1000:.0f} ms, "
        f"accepted a fresh connection {accepts_s * 1000:.0f} ms after the kill; "
        f"failures {[(round(f.at - killed_at, 3), f.kind) for f in stats.failures]}; replicas {after}"
    )
    assert not _alive(victim)
    assert replace_s <= REPLACE_WITHIN, f"replacement took {replace_s:.2f}s"
    assert stats.failed <= THREADS, (
        f"more failures than connections the killed replica could own: {stats.summary()}"
    )
    assert not late, f"failures outside the kill window: {late}"
    assert stats.ok > 0 and _versions(stats) == {1}, stats.bodies


@pytest.mark.slow
def test_kill_every_replica_under_load(cli_engine: CliEngine) -> None:
    """Both replicas SIGKILLed at once: the daemon still holds the listening socket, so new connections wait
    in its accept queue instead of being refused; only requests on the killed connections may fail."""
    svc = _deploy(cli_engine, replicas=2)
    victims = {r["pid"] for r in _serving(cli_engine, svc["id"])}
    assert len(victims) == 2 and victims <= set(cli_engine.processes()), victims
    load = _load(svc["url"], svc["key"], max_seconds=30).start()
    try:
        load.wait_for_ok(200)
        killed_at = time.monotonic()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)

        def replaced() -> bool:
            """two new serving replicas"""
            serving = {r["pid"] for r in _serving(cli_engine, svc["id"])}
            return len(serving) == 2 and not serving & victims and all(_alive(pid) for pid in serving)

        replace_s = _wait(replaced, timeout=10)
        load.wait_for_ok(1000)
    finally:
        stats = load.stop()
    print(
        f"\n[kill all replicas] {stats.summary()}; replacements serving after {replace_s * 1000:.0f} ms; "
        f"failures {[(round(f.at - killed_at, 3), f.kind) for f in stats.failures]}"
    )
    assert replace_s <= REPLACE_WITHIN, f"replacements took {replace_s:.2f}s"
    assert stats.failed <= THREADS, (
        f"more failures than connections the killed replicas could own: {stats.summary()}"
    )
    assert "ConnectionRefusedError" not in stats.kinds, (
        "the service port stopped listening while replicas were dead"
    )
    assert _versions(stats) == {1}, stats.bodies


@pytest.mark.slow
def test_kill_daemon_restarts_services(cli_engine: CliEngine) -> None:
    svc = _deploy(cli_engine, replicas=2)
    other = cli_engine.create_service("faultsvc2", svc["image"])
    other_key = cli_engine.primary_key(other)
    other_url = cli_engine.service_record(other)["scoringUri"]
    listings = {
        what: cli_engine.az_json(*what.split())
        for what in ("model list", "manifest list", "image list", "service list realtime")
    }
    shows = {sid: cli_engine.show(sid) for sid in (svc["id"], other)}
    old_daemon = cli_engine.daemon_info()["pid"]
    old_replicas = set(_replica_processes(cli_engine))
    assert old_daemon in cli_engine.processes() and len(old_replicas) == 3, (old_daemon, old_replicas)

    load = _load(svc["url"], svc["key"], max_seconds=60).start()
    try:
        load.wait_for_ok(100)
        os.kill(old_daemon, signal.SIGKILL)

        def orphans_gone() -> bool:
            """every replica of the dead daemon has exited"""
            return not any(_alive(pid) for pid in old_replicas)

        orphan_s = _wait(orphans_gone, timeout=15)
        ok_at_kill = load.snapshot()[0]
        cli_at = time.monotonic()
        listed = cli_engine.az_json("service", "list", "realtime")  # the next CLI command restarts the daemon
        cli_s = time.monotonic() - cli_at

        def answering() -> bool:
            """the service answers again on its old URL"""
            return load.snapshot()[0] > ok_at_kill + 20

        restart_s = _wait(answering, timeout=RESTART_WITHIN) + cli_s
    finally:
        stats = load.stop()
    down_failures = len(stats.failures)
    new_daemon = cli_engine.daemon_info()["pid"]
    print(
        f"\n[kill daemon] replicas exited {orphan_s * 1000:.0f} ms after the daemon was killed; "
        f"first CLI command took {cli_s * 1000:.0f} ms; "
        f"URL answered again {restart_s * 1000:.0f} ms after that command started; "
        f"{down_failures} failed requests while down {dict(stats.kinds)}; {stats.summary()}"
    )
    assert new_daemon != old_daemon and new_daemon in cli_engine.processes()
    assert listed == listings["service list realtime"] or [s["Id"] for s in listed] == [
        s["Id"] for s in listings["service list realtime"]
    ], listed
    for what, before in listings.items():
        assert cli_engine.az_json(*what.split()) == before, f"{what} changed across the daemon restart"
    for sid, before in shows.items():
        now = cli_engine.show(sid)
        assert now["ScoringUri"] == before["ScoringUri"] and now["Image"]["Id"] == before["Image"]["Id"], now
        assert now["State"] == "Succeeded", now
    assert cli_engine.primary_key(svc["id"]) == svc["key"] and cli_engine.primary_key(other) == other_key
    # both services serve again, with their old keys, on their old ports; the -z 2 one with two replicas
    _wait(
        lambda: len(_serving(cli_engine, svc["id"])) == 2 and len(_serving(cli_engine, other)) == 1,
        timeout=10,
    )
    for url, key in ((svc["url"], svc["key"]), (other_url, other_key)):
        with _load(url, key, max_seconds=10) as check:
            check.wait_for_ok(50)
        assert check.stats.failed == 0, check.stats.summary()
    assert len(_replica_processes(cli_engine)) == 3, _replica_processes(cli_engine)
    assert restart_s <= RESTART_WITHIN


@pytest.mark.slow
def test_update_rollback_swaps_under_load(cli_engine: CliEngine) -> None:
    svc = _deploy(cli_engine, replicas=2)
    image_b = cli_engine.build("imgb", svc["model"], "score_v2.py")
    image_a = svc["image"]
    timings: list[float] = []
    load = _load(svc["url"], svc["key"], max_seconds=150).start()
    try:
        load.wait_for_ok(100)
        for i in range(2 * SWAPS):
            target = image_b if i % 2 == 0 else image_a
            t0 = time.monotonic()
            out = cli_engine.az_ok(
                "service", "update", "realtime", "-i", svc["id"], "--image-id", target, timeout=120
            )
            timings.append(time.monotonic() - t0)
            assert f"Service ID: {svc['id']}" in out, out
            shown = cli_engine.show(svc["id"])
            assert shown["Image"]["Id"] == target and shown["ScoringUri"] == svc["url"], (
                i,
                shown["Image"]["Id"],
            )
            assert shown["State"] == "Succeeded", shown["State"]
            assert engine_live(cli_engine, svc["id"]) == target
            assert load.snapshot()[1] == 0, f"update {i + 1}: {load.stats.failures[:5]}"
        load.wait_for_ok(100)
    finally:
        stats = load.stop()
    versions = _versions(stats)
    print(
        f"\n[swaps] {len(timings)} updates ({SWAPS} update+rollback pairs), each {min(timings):.2f}-"
        f"{max(timings):.2f}s (mean {sum(timings) / len(timings):.2f}s); {stats.summary()}; "
        f"versions seen {versions}"
    )
    assert stats.failed == 0, f"{stats.summary()}: {stats.failures[:10]}"
    assert versions == {1, 2}
    _wait(lambda: len(_replica_processes(cli_engine)) == 2, timeout=15)  # drained replicas really exit


@pytest.mark.slow
def test_kill_daemon_during_update(cli_engine: CliEngine) -> None:
    """kill -9 the daemon while an update is starting the new image's replicas (their init() takes 2 s, so
    the kill surely lands mid-update): after the restart the operation is finished (never stuck Running),
    the service is back on the old image, and `service show`, the daemon's live image and what actually
    answers all agree."""
    svc = _deploy(cli_engine, replicas=2)
    slow = cli_engine.build("imgslow", svc["model"], "slow_init.py")
    daemon = cli_engine.daemon_info()["pid"]
    update = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops_engine",
            "ml",
            "service",
            "update",
            "realtime",
            "-i",
            svc["id"],
            "--image-id",
            slow,
            "-v",
        ],
        cwd=cli_engine.work,
        env=cli_engine.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def new_replica_started() -> bool:
            """a replica process of the new image exists (the update is under way)"""
            return any(slow in cmd for cmd in _replica_processes(cli_engine).values())

        _wait(new_replica_started, timeout=30, interval=0.005)
        os.kill(daemon, signal.SIGKILL)
        out, err = update.communicate(timeout=120)
    finally:
        if update.poll() is None:
            update.kill()
            update.wait()
    print(f"\n[kill daemon mid-update] update exit {update.returncode}: {(out + err).strip()[-300:]}")
    assert "mlops_engine/cli" not in out + err, err  # no CLI crash
    assert update.returncode == 1, out + err
    op_id = cli_engine.grab(r"Operation Id: ([0-9a-f-]{36})", out)
    listed = cli_engine.az_json("service", "list", "realtime")  # the next command restarts the daemon
    deadline = time.monotonic() + 30
    while True:
        _, op = cli_engine.api("GET", f"{cli_engine.mms}/operations/{op_id}")
        if op["state"] in ("Succeeded", "Failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    print(f"[kill daemon mid-update] operation ended {op['state']}: {op.get('error')}")
    assert op["state"] == "Failed", f"operation not failed after the daemon died under it: {op}"

    def restored() -> bool:
        """the restarted daemon serves the service again (2 replicas of the old image)"""
        return len(_serving(cli_engine, svc["id"])) == 2

    def service_state() -> Any:
        record = cli_engine.service_record(svc["id"])
        log = (cli_engine.home / "daemon" / "daemon.log").read_text().splitlines()
        return {
            "state": record["state"],
            "error": record.get("error"),
            "replicas": record["replicas"],
            "replica processes": _replica_processes(cli_engine),
            "daemon.log": [line for line in log if "restore" in line][-3:],
        }

    _wait(restored, timeout=10, state=service_state)
    shown = cli_engine.show(svc["id"])
    assert shown["Image"]["Id"] == svc["image"] and shown["State"] == "Succeeded", shown["Image"]["Id"]
    assert listed[0]["State"] == "Succeeded", listed
    assert engine_live(cli_engine, svc["id"]) == svc["image"]
    with _load(svc["url"], svc["key"], max_seconds=10) as check:
        check.wait_for_ok(100)
    assert check.stats.failed == 0 and _versions(check.stats) == {1}, check.stats.summary()
    _wait(
        lambda: len(_replica_processes(cli_engine)) == 2, timeout=15
    )  # no replica of the new image survives
    assert not any(slow in cmd for cmd in _replica_processes(cli_engine).values())
    if "Error connecting" in out + err:  # the CLI lost the daemon while polling: its message names the daemon
        assert "127.0.0.1:None" not in out + err, (
            "the error names no daemon port (cli/client.py _died_message)"
        )


def engine_live(engine: CliEngine, sid: str) -> str:
    record = engine.service_record(sid)
    serving = {r["imageId"] for r in record["replicas"] if r["state"] == "serving"}
    assert serving == {record["liveImageId"]}, record["replicas"]
    return str(record["liveImageId"])


@pytest.mark.slow
def test_update_to_crashing_image_keeps_old_version(cli_engine: CliEngine) -> None:
    svc = _deploy(cli_engine, replicas=2)
    crash = cli_engine.build("imgcrash", svc["model"], "init_crash.py")
    load = _load(svc["url"], svc["key"], max_seconds=60).start()
    try:
        load.wait_for_ok(100)
        t0 = time.monotonic()
        proc = cli_engine.az(
            "service", "update", "realtime", "-i", svc["id"], "--image-id", crash, timeout=120
        )
        update_s = time.monotonic() - t0
        load.wait_for_ok(200)
    finally:
        stats = load.stop()
    out = proc.stdout + proc.stderr
    print(f"\n[crash update] update failed after {update_s:.2f}s (exit {proc.returncode}); {stats.summary()}")
    assert proc.returncode == 1, out
    assert "mlops_engine/cli" not in out, out  # a clear error, not a crash of the CLI itself
    assert "Updating service" in proc.stdout and "Failed" in proc.stdout, proc.stdout
    assert "crashed" in out and "fault-test init crash" in out, out  # the reason and the replica's own words
    op_id = cli_engine.grab(r'"Id": "([0-9a-f-]{36})",\s*"OperationType": "Service"', out)
    status, op = cli_engine.api("GET", f"{cli_engine.mms}/operations/{op_id}")
    assert status == 200 and op["state"] == "Failed", op
    assert op["error"]["details"][0]["code"] == "CrashLoopBackOff", op["error"]
    assert stats.failed == 0, f"{stats.summary()}: {stats.failures[:10]}"
    assert _versions(stats) == {1}, stats.bodies
    shown = cli_engine.show(svc["id"])
    assert shown["Image"]["Id"] == svc["image"] and shown["State"] == "Succeeded", shown
    assert engine_live(cli_engine, svc["id"]) == svc["image"]
    # no replica of the crashing image is left behind (crash-looping or otherwise)
    _wait(lambda: len(_replica_processes(cli_engine)) == 2, timeout=10)
    assert not any(crash in cmd for cmd in _replica_processes(cli_engine).values())
