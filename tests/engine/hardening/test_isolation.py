"""Isolation of user code (issue 13, item 6): a score.py cannot read the daemon token, state.db (and its WAL),
the daemon's memory or files, or another service's replica; everything under MLOPS_HOME is private.

The engine on CI (and this machine) runs as root, so the replicas run under their own uids; the user
namespace mode (an engine run as a user) is checked on its mechanism by a process that confines itself.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_engine.serving import isolation
from mlops_engine.serving.confine import blocked_ancestors, needed_paths
from mlops_engine.serving.isolation import Confinement, plan, replica_group, replica_ids

from ..conftest import CliEngine

ROOT = os.geteuid() == 0


def _score(engine: CliEngine, service_id: str, request: dict[str, list[str]]) -> dict[str, object]:
    out = engine.az_ok("service", "run", "realtime", "-i", service_id, "-d", json.dumps(request))
    return json.loads(json.loads(out) if out.strip().startswith('"') else out)


def _replica_pids(engine: CliEngine, service_id: str) -> list[int]:
    return [r["pid"] for r in engine.service_record(service_id)["replicas"]]


@pytest.mark.skipif(not ROOT, reason="the engine confines replicas under their own uid only when it runs as root")
def test_a_score_py_cannot_read_the_token_state_db_or_another_service(cli_engine: CliEngine):
    e = cli_engine
    e.setup_cluster()
    model = e.register_model()
    image = e.build("snoop", model, "snoop_score.py")
    snoop = e.create_service("snoop", image)
    other = e.create_service("other", image)
    home, daemon_pid = e.home, e.daemon_info()["pid"]
    other_pid = _replica_pids(e, other)[0]
    bundle_score = home / "images" / image / "app" / "score.py"
    secrets = [
        home / "daemon" / "token",
        home / "state.db",
        home / "state.db-wal",
        Path(f"/proc/{daemon_pid}/root{home}/daemon/token"),  # the daemon's own view of the file system
        Path(f"/proc/{daemon_pid}/environ"),
        Path(f"/proc/{daemon_pid}/mem"),
        Path(f"/proc/{other_pid}/environ"),  # the other service's replica (its keys are in its memory)
        Path(f"/proc/{other_pid}/mem"),
        home / "services" / other / "replica-0.log",
        home / "cli" / "profile.json",
    ]
    answer = _score(e, snoop, {"read": [str(p) for p in [*secrets, bundle_score]],
                               "list": [str(home), str(home / "images"), str(home / "daemon")]})
    results = answer["results"]
    assert isinstance(results, dict)
    assert results[str(bundle_score)] == "READ"  # its own bundle: yes
    for path in secrets:
        assert results[str(path)] == "PermissionError", (path, results[str(path)])
    for listed in (home, home / "images", home / "daemon"):
        assert results[str(listed) + "/"] == "PermissionError"
    uid, gid = replica_ids(home, snoop)
    assert (answer["uid"], answer["gid"], answer["groups"]) == (uid, gid, [])
    # each service under its own uid, none as root
    uids = {os.stat(f"/proc/{pid}").st_uid for service in (snoop, other) for pid in _replica_pids(e, service)}
    assert uids == {replica_ids(home, snoop)[0], replica_ids(home, other)[0]} and 0 not in uids


def test_the_home_is_private_after_a_deployment(cli_engine: CliEngine):
    e = cli_engine
    e.setup_cluster()
    image = e.build("snoop", e.register_model(), "snoop_score.py")
    service_id = e.create_service("snoop", image)
    e.az_ok("service", "logs", "realtime", "-i", service_id)  # the CLI reads replica logs too
    images = e.home / "images"
    wrong = []
    for dirpath, dirs, files in os.walk(e.home):
        here = Path(dirpath)
        for name in dirs:
            path = here / name
            mode = stat.S_IMODE(path.stat().st_mode)
            if path == images:
                allowed = {0o710} if ROOT else {0o700}
            elif path.parent == images:
                allowed = {0o555}  # a read-only bundle: reachable only through images/ (0710 / 0700)
            elif images in path.parents:
                allowed = {0o555}
            else:
                allowed = {0o700}
            if mode not in allowed:
                wrong.append(f"{path} {oct(mode)}")
        for name in files:
            path = here / name
            mode = stat.S_IMODE(path.lstat().st_mode)
            # 0400: immutable artifacts (read-only, still private); 0444: inside a read-only bundle
            allowed = {0o444} if images in path.parents else {0o600, 0o400}
            if mode not in allowed:
                wrong.append(f"{path} {oct(mode)}")
    home_mode = stat.S_IMODE(e.home.stat().st_mode)
    assert home_mode == (0o710 if ROOT else 0o700)
    if ROOT:
        assert e.home.stat().st_gid == images.stat().st_gid == replica_group(e.home)
    assert wrong == [], "\n".join(wrong)


def test_plan_follows_the_engine_user(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(isolation.ENV_VAR, raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    chosen = plan("svc.env-1234abcd.eastus2", tmp_path)
    assert chosen.mode == "user" and (chosen.uid, chosen.gid) == replica_ids(tmp_path, "svc.env-1234abcd.eastus2")
    assert chosen.uid >= isolation.ID_BASE and chosen.gid == replica_group(tmp_path)
    assert replica_ids(tmp_path, "a") != replica_ids(tmp_path, "b") != replica_ids(tmp_path / "x", "b")
    assert Confinement.parse(chosen.argv()[1]) == chosen
    monkeypatch.setenv(isolation.ENV_VAR, "off")
    assert plan("svc", tmp_path).mode == "none" and "MLOPS_REPLICA_ISOLATION=off" in plan("svc", tmp_path).reason
    with pytest.raises(ValueError, match="not a confinement"):
        Confinement.parse('{"mode": "root"}')


def test_blocked_ancestors_are_the_outermost_unsearchable_ones(tmp_path: Path):
    closed = tmp_path / "closed"
    deep = closed / "a" / "b"
    deep.mkdir(parents=True)
    os.chmod(closed, 0o700)
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path, 0o755)
    uid, gid = 0x40000001, 0x40000002
    # the outermost directory the replica cannot search wins: one of tmp_path's parents (pytest's are 0700) or
    # `closed`; the open directory needs nothing
    outside = [p for p in reversed(tmp_path.parents) if p != Path("/") and not p.stat().st_mode & stat.S_IXOTH]
    assert blocked_ancestors([deep, tmp_path / "open"], uid, gid) == (outside[:1] or [closed])
    assert needed_paths(deep, None)[0] == deep


_USERNS_CHILD = r"""
import os, sys
from pathlib import Path
from mlops_engine.serving.confine import apply
from mlops_engine.serving.isolation import Confinement
home = Path(sys.argv[1]); bundle = home / "images" / "img"
print(apply(Confinement("userns", str(home)), bundle), flush=True)
def attempt(path):
    try:
        return Path(path).read_text()[:10]
    except OSError as exc:
        return type(exc).__name__
print(attempt(home / "daemon" / "token"), attempt(home / "state.db"), attempt(bundle / "app" / "score.py"))
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("umount", libc.umount2(str(home).encode(), 2), ctypes.get_errno())
print([line for line in open("/proc/self/status") if line.startswith("CapEff")][0].split()[1])
"""


def _userns_allowed() -> bool:
    probe = "import ctypes,sys;sys.exit(ctypes.CDLL(None,use_errno=True).unshare(0x10000000|0x00020000))"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


@pytest.mark.skipif(not _userns_allowed(), reason="this kernel does not allow user namespaces")
def test_userns_mode_hides_the_home_and_drops_every_capability(tmp_path: Path):
    home = tmp_path / "home"
    (home / "daemon").mkdir(parents=True)
    (home / "daemon" / "token").write_text("a" * 64)
    (home / "state.db").write_text("keys")
    (home / "images" / "img" / "app").mkdir(parents=True)
    (home / "images" / "img" / "app" / "score.py").write_text("def run(x): pass")
    proc = subprocess.run([sys.executable, "-c", _USERNS_CHILD, str(home)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "isolation: private user and mount namespace (the engine home is hidden)"
    assert lines[1] == "FileNotFoundError FileNotFoundError def run(x)"
    assert lines[2] == "umount -1 1"  # EPERM: the cover cannot be taken away
    assert lines[3] == "0000000000000000"
    assert (home / "daemon" / "token").read_text() == "a" * 64  # outside, nothing changed


_UNREADABLE_CHILD = r"""
import sys
from pathlib import Path
from mlops_engine.serving.confine import ConfinementError, apply
from mlops_engine.serving.isolation import Confinement
try:
    apply(Confinement("user", sys.argv[1], 0x40000001, 0x40000002), Path(sys.argv[2]))
except ConfinementError as exc:
    print(exc)
"""


@pytest.mark.skipif(not ROOT, reason="user mode is the engine-as-root mode")
def test_a_bundle_the_replica_user_cannot_read_is_refused_before_anything_runs(tmp_path: Path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    os.chmod(bundle, 0o700)
    proc = subprocess.run([sys.executable, "-c", _UNREADABLE_CHILD, str(tmp_path / "nohome"), str(bundle)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert f"the replica user (uid {0x40000001}) cannot read {bundle} (0o700)" in proc.stdout
    assert "MLOPS_REPLICA_ISOLATION=off" in proc.stdout
