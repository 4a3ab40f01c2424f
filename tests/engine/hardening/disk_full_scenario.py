"""Run as root inside `unshare --mount`: a 24 MB tmpfs as MLOPS_HOME, then an upload and an image build that
cannot fit. Prints one JSON object: each command's exit code, stderr and wall time (the test judges them).

The mount lives in this process's private mount namespace: it disappears with the namespace, even if the
test is killed, and nothing else on the machine sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main(mount_point: str, work: str, fixtures: str) -> int:
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mount_point], check=True)
    env = {**os.environ, "MLOPS_HOME": f"{mount_point}/h", "MLOPS_POLL_INTERVAL": "0.05"}
    wd = Path(work)
    for f in Path(fixtures).iterdir():
        shutil.copy(f, wd / f.name)
    (wd / "random.pkl").write_bytes(os.urandom(40_000_000))  # does not fit: refused at upload
    (wd / "zeros.pkl").write_bytes(bytes(60_000_000))  # a 60 KB upload that unpacks to 60 MB at build

    def az(*argv: str) -> dict[str, object]:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "mlops_engine", "ml", *argv], cwd=wd, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        return {"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr,
                "seconds": round(time.monotonic() - started, 3)}

    results: dict[str, object] = {}
    try:
        az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2")
        az("account", "modelmanagement", "set", "-n", "a", "-g", "rg")
        az("env", "setup", "-n", "e", "-g", "rg", "-l", "eastus2")
        for _ in range(200):
            if '"Succeeded"' in str(az("env", "show", "-n", "e", "-g", "rg")["out"]):
                break
            time.sleep(0.05)
        az("env", "set", "-n", "e", "-g", "rg")
        results["upload"] = az("model", "register", "-m", "random.pkl", "-n", "big")
        registered = az("model", "register", "-m", "zeros.pkl", "-n", "zeros")
        model_id = str(registered["out"]).split("Id: ", 1)[1].split()[0]
        manifest = az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "python", "-i", model_id)
        manifest_id = str(manifest["out"]).split("Id: ", 1)[1].split()[0]
        results["build"] = az("image", "create", "-n", "img", "--manifest-id", manifest_id)
        results["after"] = az("model", "list", "-o", "table")  # the engine still answers
    finally:
        subprocess.run([sys.executable, "-m", "mlops_engine", "daemon", "stop"], env=env, capture_output=True,
                       timeout=60, check=False)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
