"""One replica process (serving/process.py): how it is started, and that the daemon recognises it as its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mlops_engine.daemon.app import reap_orphan_replicas
from mlops_engine.paths import Paths
from mlops_engine.serving.api import ServiceSpec
from mlops_engine.serving.process import REPLICA_MODULE, bind_listener, spawn

from .replica_support import PYTHON, TRIVIAL, make_bundle

# busy in init() for a long time: cannot see its control pipe close, the case reap_orphan_replicas exists for
SLOW_INIT = "import time\ndef init():\n    time.sleep(120)\ndef run(raw):\n    return raw\n"


def _spec(bundle: Path, name: str = "svc") -> ServiceSpec:
    return ServiceSpec(name, name, "local", 0, bundle.name, bundle, 1, log_dir=bundle.parent / "logs")


def _cmdline(pid: int) -> list[str]:
    """The process's argv; empty for a moment while exec() sets it up, after Popen has already returned."""
    deadline = time.monotonic() + 10
    while True:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode() for a in fh.read().split(b"\0") if a]
        if argv or time.monotonic() > deadline:
            return argv
        time.sleep(0.01)


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as fh:
        pairs = [e.decode(errors="replace").partition("=") for e in fh.read().split(b"\0") if e]
    return {k: v for k, _, v in pairs}


def test_a_replica_is_the_installed_module_with_no_pythonpath_added(tmp_path):
    bundle = make_bundle(tmp_path, SLOW_INIT, name="img")
    (tmp_path / "logs").mkdir()
    env_before = os.environ.get("PYTHONPATH")
    with bind_listener(0) as sock:
        r = spawn(PYTHON, _spec(bundle), sock, tmp_path / "logs" / "replica-0.log")
        try:
            argv = _cmdline(r.pid)
            assert argv[1:4] == ["-P", "-m", REPLICA_MODULE], argv
            assert argv[argv.index("--bundle") + 1] == str(bundle)
            assert _environ(r.pid).get("PYTHONPATH") == env_before  # inherited as is, nothing injected
            assert _environ(r.pid)["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS", "1")
        finally:
            r.close_control()
            r.kill()
            assert r.reap(10)


def test_the_daemon_reaps_replicas_of_its_home_left_by_a_killed_daemon(tmp_path):
    """A replica whose daemon died in the middle of its init() is found by its command line and killed."""
    paths = Paths(tmp_path / "home")
    paths.images.mkdir(parents=True)
    ours = make_bundle(paths.images, SLOW_INIT, name="img-ours")
    theirs = make_bundle(tmp_path, SLOW_INIT, name="img-of-another-home")
    (paths.images / "logs").mkdir()
    (tmp_path / "logs").mkdir()
    with bind_listener(0) as sock:
        orphan = spawn(PYTHON, _spec(ours), sock, paths.images / "logs" / "replica-0.log")
        stranger = spawn(PYTHON, _spec(theirs), sock, tmp_path / "logs" / "replica-0.log")
        try:
            assert REPLICA_MODULE in _cmdline(orphan.pid) and REPLICA_MODULE in _cmdline(stranger.pid)
            assert reap_orphan_replicas(paths) == [orphan.pid]
            assert orphan.reap(10) and orphan.proc.returncode == -9
            assert not stranger.exited()  # another home's replica is none of our business
        finally:
            for r in (orphan, stranger):
                r.close_control()
                r.kill()
                r.reap(10)


def test_replicas_run_without_pythonpath_from_any_directory(tmp_path):
    """The supervisor in a process whose cwd is not the checkout and whose env has no PYTHONPATH: the replica
    imports the engine installed in the interpreter (editable here, a wheel for users)."""
    bundle = make_bundle(tmp_path, TRIVIAL, name="img1")
    script = textwrap.dedent(
        f"""
        import json, sys, urllib.request
        from pathlib import Path
        import mlops_engine
        from mlops_engine.serving.api import ServiceSpec
        from mlops_engine.serving.supervisor import ReplicaSupervisor
        sup = ReplicaSupervisor(sys.executable, ready_timeout=30)
        try:
            bundle = Path({str(bundle)!r})
            r = sup.start(ServiceSpec("s", "s", "local", 0, "img1", bundle, 1, log_dir=bundle.parent / "l"))
            body = urllib.request.urlopen(f"http://127.0.0.1:{{r.port}}/score", b"x", timeout=10).read().decode()
            print(json.dumps({{"ok": r.ok, "error": r.error, "tail": r.log_tail, "body": body,
                               "engine": mlops_engine.__file__}}))
        finally:
            sup.shutdown()
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"], out
    assert out["body"] == '"0"'
    assert not out["engine"].startswith(str(work))
