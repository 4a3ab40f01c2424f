"""A/B of the engine CLI's cold start: the same `az ml` command from two source trees, interleaved in one run.

`--before DIR` is another checkout of the project (e.g. `git archive <commit> | tar -x -C DIR`); it is put first
on PYTHONPATH for the "before" calls, while the "after" calls use this tree. Both talk to one daemon on a
fresh MLOPS_HOME, and the outputs must be identical. Interleaving (base, before, after, base, ...) gives
both sides the same machine load, so the ratio is meaningful even on a busy machine.

Measures `az ml model list -o table` (2 models, `--calls` times each) and, with `--models N`, the same with N
model versions (fewer calls). Baseline in the same run: `python -c "import json"`.

Run: .venv/bin/python bench/cold_start_ab.py --before /tmp/before [--calls 30] [--models 10000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False)


def _ok(argv: list[str], env: dict[str, str]) -> str:
    proc = _run(argv, env)
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


def _interleaved(sides: dict[str, tuple[list[str], dict[str, str]]], calls: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(calls):
        for name, (argv, env) in sides.items():
            t0 = time.perf_counter()
            proc = _run(argv, env)
            times[name].append(time.perf_counter() - t0)
            assert proc.returncode == 0, proc.stderr
    return times


def _report(title: str, times: dict[str, list[float]]) -> None:
    base = statistics.median(times["baseline"])
    print(title)
    for name, values in times.items():
        med = statistics.median(values)
        p90 = sorted(values)[max(0, int(len(values) * 0.9) - 1)]
        print(f"  {name:9s} median {med * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  {med / base:5.2f}x baseline"
              f"  ({len(values)} calls)")


def _register_many(home: Path, py: list[str], env: dict[str, str], count: int) -> None:
    """`count` more model versions through the daemon's REST API, with the payload `model register` sends."""
    info = json.loads((home / "daemon" / "daemon.json").read_text())
    token = (home / "daemon" / "token").read_text().strip()
    profile = json.loads((home / "cli" / "viennaModelManagementAccountProfile.json").read_text())
    path = (f"/api/subscriptions/{profile['subscription']}/resourceGroups/{profile['resource_group']}"
            f"/accounts/{profile['name']}/models")
    url = json.loads(_ok(py + ["model", "list", "-v"], env))[0]["Url"]
    conn = http.client.HTTPConnection("127.0.0.1", info["port"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(count):
        body = {"name": f"model{i % 50}", "tags": [], "description": "", "url": url, "mimeType": "application/json",
                "unpack": True}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
    conn.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, type=Path, help="another checkout of the project")
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--models", type=int, default=0)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mlops-ab-")) / "home"
    env = {**os.environ, "MLOPS_HOME": str(home)}
    before_env = {**env, "PYTHONPATH": os.pathsep.join([str(args.before.resolve()), env.get("PYTHONPATH", "")])}
    az = [str(Path(sys.executable).with_name("az")), "ml"]
    py = [sys.executable, "-m", "mlops_engine", "ml"]
    after_env = {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])}
    try:
        _ok(py + ["account", "modelmanagement", "create", "-n", "abacct", "-g", "abrg", "-l", "eastus2"], after_env)
        _ok(py + ["env", "setup", "-n", "abenv", "-l", "eastus2", "-g", "abrg"], after_env)
        for _ in range(200):
            if '"Succeeded"' in _run(py + ["env", "show", "-g", "abrg", "-n", "abenv"], after_env).stdout:
                break
            time.sleep(0.1)
        _ok(py + ["env", "set", "-g", "abrg", "-n", "abenv"], after_env)
        model = home / "model.pkl"
        model.write_bytes(os.urandom(2048))
        for name in ("naive_bayes", "decision_tree"):
            _ok(py + ["model", "register", "-m", str(model), "-n", name], after_env)
        table = az + ["model", "list", "-o", "table"]
        assert _ok(table, before_env) == _ok(table, after_env), "the two trees print different tables"
        sides = {"baseline": ([sys.executable, "-c", "import json"], env), "before": (table, before_env),
                 "after": (table, after_env)}
        _report("`az ml model list -o table`, 2 models:", _interleaved(sides, args.calls))
        if args.models:
            _register_many(home, py, after_env, args.models - 2)
            assert _ok(table, before_env) == _ok(table, after_env), "the two trees print different tables"
            _report(f"`az ml model list -o table`, {args.models} models:",
                    _interleaved(sides, max(5, args.calls // 3)))
    finally:
        _run(py[:-1] + ["daemon", "stop"], after_env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
