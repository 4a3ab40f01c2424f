"""Control-plane benchmark (issue: local Model Management engine).

Measures, in one run on a fresh engine home:
  * wall time of `az ml model list -o table` per call (median of N subprocess calls), against the named
    baseline `python -c "import json"` (bare interpreter start-up) measured in the same run;
  * `az ml model list -o table` with 10,000 registered model versions;
  * registration time as the registry grows (median POST /models latency per batch of 1,000), to show it
    stays flat. Registrations go through the daemon's REST API with the payload `az ml model register`
    sends (a CLI process per registration would measure interpreter start-up 10,000 times).

Run: .venv/bin/python bench/control_plane.py [--calls 30] [--models 10000]
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


def timed(argv: list[str], env: dict[str, str], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, cwd=ROOT)
        out.append(time.perf_counter() - t0)
        assert proc.returncode == 0, proc.stderr.decode()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--models", type=int, default=10000)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mlops-bench-")) / "home"
    env = {**os.environ, "MLOPS_HOME": str(home)}
    az = [str(Path(sys.executable).with_name("az")), "ml"]
    py = [sys.executable, "-m", "mlops_engine", "ml"]
    try:
        subprocess.run(py + ["account", "modelmanagement", "create", "-n", "benchacct", "-g", "benchrg", "-l", "eastus2"],
                       env=env, check=True, capture_output=True)
        subprocess.run(py + ["env", "setup", "-n", "benchenv", "-l", "eastus2", "-g", "benchrg"], env=env, check=True,
                       capture_output=True)
        for _ in range(100):
            proc = subprocess.run(py + ["env", "show", "-g", "benchrg", "-n", "benchenv"], env=env, capture_output=True, text=True)
            if '"Succeeded"' in proc.stdout:
                break
            time.sleep(0.1)
        subprocess.run(py + ["env", "set", "-g", "benchrg", "-n", "benchenv"], env=env, check=True, capture_output=True)
        model = home / "model.pkl"
        model.write_bytes(os.urandom(2048))
        for name in ("naive_bayes", "decision_tree"):
            subprocess.run(py + ["model", "register", "-m", str(model), "-n", name], env=env, check=True, capture_output=True)

        base = timed([sys.executable, "-c", "import json"], env, args.calls)
        small = timed(az + ["model", "list", "-o", "table"], env, args.calls)

        info = json.loads((home / "daemon" / "daemon.json").read_text())
        token = (home / "daemon" / "token").read_text().strip()
        profile = json.loads((home / "cli" / "viennaModelManagementAccountProfile.json").read_text())
        path = f"/api/subscriptions/{profile['subscription']}/resourceGroups/{profile['resource_group']}/accounts/{profile['name']}/models"
        conn = http.client.HTTPConnection("127.0.0.1", info["port"])
        hdr = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = json.loads(subprocess.run(py + ["model", "list", "-v"], env=env, capture_output=True, text=True).stdout)[0]["Url"]
        batches: list[float] = []
        batch: list[float] = []
        for i in range(args.models - 2):
            body = json.dumps({"name": f"model{i % 50}", "tags": [], "description": "", "url": url,
                               "mimeType": "application/json", "unpack": True})
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=hdr)
            resp = conn.getresponse()
            resp.read()
            batch.append(time.perf_counter() - t0)
            assert resp.status == 200, resp.status
            if len(batch) == 1000:
                batches.append(statistics.median(batch))
                batch = []
        big = timed(az + ["model", "list", "-o", "table"], env, max(5, args.calls // 3))
        lines = subprocess.run(az + ["model", "list", "-o", "table"], env=env, capture_output=True, text=True).stdout.count("\n")
    finally:
        subprocess.run(py[:-1] + ["daemon", "stop"], env=env, capture_output=True)

    def ms(v: float) -> str:
        return f"{v * 1000:.1f} ms"

    print(f"baseline `python -c 'import json'`: median {ms(statistics.median(base))} over {len(base)} runs")
    print(f"`az ml model list -o table` (2 models): median {ms(statistics.median(small))} "
          f"(p90 {ms(sorted(small)[int(len(small) * 0.9) - 1])}), {statistics.median(small) / statistics.median(base):.1f}x the baseline; "
          f"goal <= 150 ms")
    print(f"`az ml model list -o table` ({args.models} models, {lines - 2} rows printed): median {ms(statistics.median(big))}; "
          f"goal <= 500 ms")
    print("registration latency, median per batch of 1,000 (registry size at batch start -> latency):")
    for i, v in enumerate(batches):
        print(f"  {i * 1000:>6} -> {v * 1000:.2f} ms")
    if batches:
        print(f"last/first batch ratio: {batches[-1] / batches[0]:.2f} (flat = ~1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
