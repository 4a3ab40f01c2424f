"""An isolated engine per test: its own MLOPS_HOME, a working folder, and a stopped daemon afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "conformance" / "fixtures"


class Az:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.work = root / "work"
        shutil.copytree(FIXTURES / "iris", self.work)
        import pickle

        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        iris = load_iris()
        (self.work / "model.pkl").write_bytes(pickle.dumps(LogisticRegression(max_iter=300).fit(iris.data, iris.target)))
        self.env = {**os.environ, "MLOPS_HOME": str(self.home), "MLOPS_POLL_INTERVAL": "0.05"}

    def __call__(self, *argv: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "mlops_engine", "ml", *argv], cwd=cwd or self.work, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert proc.returncode == 0, f"az ml {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def ready(self, cluster: bool = True) -> None:
        """Account + environment set, as a user would do it."""
        self("account", "modelmanagement", "create", "-n", "acct", "-g", "rg", "-l", "eastus2", check=True)
        self("env", "setup", "-n", "env1", "-l", "eastus2", "-g", "rg", *(["-c"] if cluster else []), check=True)
        import time

        for _ in range(200):
            if '"Succeeded"' in self("env", "show", "-g", "rg", "-n", "env1").stdout:
                break
            time.sleep(0.05)
        self("env", "set", "-n", "env1", "-g", "rg", check=True)

    def stop(self) -> None:
        subprocess.run([sys.executable, "-m", "mlops_engine", "daemon", "stop"], env=self.env, capture_output=True,
                       timeout=60)


@pytest.fixture
def az(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = Az(tmp_path)
    try:
        yield engine
    finally:
        engine.stop()
