"""Orchestrator benchmark (issue: `python mlops.py` recipes).

In one run, each on a fresh MLOPS_HOME:
  * baseline: the same deployment typed by hand -- the lab's az sequence (train, schema, account create,
    cluster env setup + polling env show, env set, model register, manifest create, image create, service
    create realtime, service run), each command a separate process, as a student or a shell script does it;
  * `python mlops.py recipe churn-deploy` cold (fresh MLOPS_HOME);
  * the idempotent re-run (everything exists; it verifies and smoke-tests).
Median over --reps. Goals: cold <= 30 s, re-run <= 5 s.

Run: .venv/bin/python bench/orchestrator.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {argv}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _stop(env: dict[str, str]) -> None:
    subprocess.run([PY, "-m", "mlops_engine", "daemon", "stop"], env=env, capture_output=True, timeout=120)


def manual(root: Path) -> float:
    env = {**os.environ, "MLOPS_HOME": str(root / "home")}
    work = root / "churn"
    shutil.copytree(ROOT / "churn_model", work, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    az = [PY, "-m", "mlops_engine", "ml"]
    t0 = time.perf_counter()
    try:
        _run([PY, "CATelcoCustomerChurnModelingWithoutDprep.py"], env, work)
        shutil.copy(work / "outputs" / "model.pkl", work / "model.pkl")
        _run([PY, "churn_schema_gen.py"], env, work)
        _run(az + ["account", "modelmanagement", "create", "-n", "acct", "-g", "rg", "-l", "eastus2"], env, work)
        _run(az + ["env", "setup", "-c", "-n", "env1", "-l", "eastus2", "-g", "rg"], env, work)
        while '"Succeeded"' not in _run(az + ["env", "show", "-g", "rg", "-n", "env1"], env, work):
            time.sleep(1)  # a person re-runs env show; 1 s is generous to the baseline
        _run(az + ["env", "set", "-g", "rg", "-n", "env1"], env, work)
        model = _run(az + ["model", "register", "-m", "model.pkl", "-n", "naive_bayes"], env, work).split("Id: ")[1].split()[0]
        manifest = _run(az + ["manifest", "create", "-n", "naive_bayes", "-f", "score.py", "-r", "python", "-i", model,
                              "-s", "service_schema.json"], env, work).split("Id: ")[1].split()[0]
        image = _run(az + ["image", "create", "-n", "churnimage", "--manifest-id", manifest], env, work).split("Image ID: ")[1].split()[0]
        service = _run(az + ["service", "create", "realtime", "-n", "churnpred", "--image-id", image], env, work).split("Service ID: ")[1].split()[0]
        sample = json.load(open(work / "service_schema.json"))["input"]["input_df"]["swagger"]["example"]
        answer = _run(az + ["service", "run", "realtime", "-i", service, "-d", json.dumps({"input_df": sample})], env, work)
        assert answer.strip() == '"0"', answer
        return time.perf_counter() - t0
    finally:
        _stop(env)


def orchestrated(root: Path) -> tuple[float, float]:
    env = {**os.environ, "MLOPS_HOME": str(root / "home")}
    try:
        t0 = time.perf_counter()
        out = _run([PY, "mlops.py", "recipe", "churn-deploy"], env, ROOT)
        cold = time.perf_counter() - t0
        assert 'answered "0"' in out, out
        t0 = time.perf_counter()
        out = _run([PY, "mlops.py", "recipe", "churn-deploy"], env, ROOT)
        rerun = time.perf_counter() - t0
        assert "created:" not in out, out
        return cold, rerun
    finally:
        _stop(env)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    base, cold, rerun = [], [], []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
            base.append(manual(Path(tmp) / "manual"))
            c, r = orchestrated(Path(tmp) / "orch")
            cold.append(c)
            rerun.append(r)
    med = statistics.median
    print(f"baseline, the lab's az sequence typed by hand: median {med(base):.2f} s  runs {[round(x, 2) for x in base]}")
    print(f"mlops.py recipe churn-deploy, cold:            median {med(cold):.2f} s  runs {[round(x, 2) for x in cold]}  "
          f"({med(cold) / med(base):.2f}x baseline; goal <= 30 s)")
    print(f"mlops.py recipe churn-deploy, re-run:          median {med(rerun):.2f} s  runs {[round(x, 2) for x in rerun]}  "
          f"({med(rerun) / med(base):.2f}x baseline; goal <= 5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
