"""Bad input gets the legacy error shape (or a clear one where the legacy CLI crashed), the legacy exit
code, never a Python traceback, and leaves nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.cli.conftest import Az


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ERROR: ")
    return proc.stderr


def test_no_account_set(az: Az) -> None:
    assert "Model Management Account not set. Please run 'az ml account modelmanagement set'" in _error(az("model", "list"))


def test_malformed_json_tags_creates_nothing(az: Az) -> None:
    err = _error(az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", "-t", "{bad"))
    assert "Invalid format provided for tags" in err
    assert json.loads(az("account", "modelmanagement", "list", check=True).stdout) == []


def test_bad_sku_instances(az: Az) -> None:
    err = _error(az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", "--sku-instances", "17"))
    assert "Must be a value between 1 and 16 inclusive" in err


def test_missing_model_file_and_no_environment(az: Az) -> None:
    az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", check=True)
    assert "no such file or directory nosuch.pkl" in _error(az("model", "register", "-m", "nosuch.pkl", "-n", "x"))
    assert "Please set your current compute" in _error(az("model", "register", "-m", "model.pkl", "-n", "x"))


def test_unknown_ids_and_bad_runtime(az: Az) -> None:
    az.ready()
    err = _error(az("model", "show", "-m", "0" * 32))
    assert "Error occurred showing model." in err and "404" in err
    err = _error(az("manifest", "show", "-i", "00000000-0000-0000-0000-000000000000"))
    assert "Error occurred while attempting to show manifest." in err
    assert "Provided runtime not supported" in _error(az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "scala"))
    err = _error(az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "python", "-i", "f" * 32))
    assert "Error occurred creating manifest." in err
    assert json.loads(az("manifest", "list", check=True).stdout) == []


def test_driver_outside_current_folder(az: Az, tmp_path: Path) -> None:
    az.ready()
    err = _error(az("manifest", "create", "-n", "m", "-f", str(az.work / "score.py"), "-r", "python", cwd=tmp_path))
    assert "Unable to use a driver file not in current directory" in err


def test_usage_errors_exit_2(az: Az) -> None:
    proc = az("model", "register", "-n", "x")
    assert proc.returncode == 2 and "the following arguments are required: --model/-m" in proc.stderr
    proc = az("env", "setup", "-n", "Bad_Name", "-l", "eastus2")
    assert "must only contain lowercase alphanumeric" in _error(proc)


def test_env_set_before_provisioned_or_failed(az: Az) -> None:
    az.env["MLOPS_AGENT_QUOTA"] = "1"  # read by the daemon this first command starts: the env needs 2 agents
    az("account", "modelmanagement", "create", "-n", "a", "-g", "rg", "-l", "eastus2", check=True)
    az("env", "setup", "-c", "-n", "big", "-l", "eastus2", "-g", "rg", check=True)
    for _ in range(200):
        shown = json.loads(az("env", "show", "-g", "rg", "-n", "big", check=True).stdout)
        if shown["Provisioning State"] != "Creating":
            break
        time.sleep(0.05)
    assert shown["Provisioning State"] == "Failed"
    assert shown["Provisioning Errors"][0]["error"]["details"][0]["code"] == "QuotaExceeded"
    err = _error(az("env", "set", "-n", "big", "-g", "rg"))
    assert "provisioning state is Failed. Provisioning state succeeded is required." in err


def test_two_concurrent_clis_start_one_daemon(az: Az) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "mlops_engine", "ml", "account", "modelmanagement", "list"],
                              env=az.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    daemons = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            env = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"mlops_engine.daemon" in cmd and str(az.home).encode() in env:
            daemons.append(pid)
    assert len(daemons) == 1, daemons


def test_daemon_dies_mid_command(az: Az) -> None:
    """Kill the daemon while `image create` is polling: a clear error, then a consistent store."""
    az.ready()
    az("model", "register", "-m", "model.pkl", "-n", "m", check=True)
    model_id = json.loads(az("model", "list", check=True).stdout)[0]["Id"]
    az("manifest", "create", "-n", "m", "-f", "score.py", "-r", "python", "-i", model_id, "-s", "service_schema.json",
       check=True)
    manifest_id = json.loads(az("manifest", "list", check=True).stdout)[0]["Id"]
    pid = json.loads((az.home / "daemon" / "daemon.json").read_text())["pid"]
    env = {**az.env, "MLOPS_POLL_INTERVAL": "0.2"}
    proc = subprocess.Popen([sys.executable, "-m", "mlops_engine", "ml", "image", "create", "-n", "img", "--manifest-id",
                             manifest_id], cwd=az.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = threading.Timer(0.15, lambda: os.kill(pid, signal.SIGKILL))
    killer.start()
    out, err = proc.communicate(timeout=60)
    killer.join()
    if proc.returncode != 0:  # the build may have finished before the kill; either way no traceback
        assert proc.returncode == 1 and "Traceback" not in err
        # the CLI restarted the daemon while polling and reports the interrupted operation, or (a write was
        # in flight) says the service stopped; both tell the user to run the command again
        assert ("The daemon stopped while the operation was running; run the command again." in err
                or ("local Model Management service" in err and "run the command again" in err)), err
        assert "127.0.0.1:None" not in err
    images = json.loads(az("image", "list", check=True).stdout)  # restarts the daemon
    assert all(i["CreationState"] in ("Succeeded", "Failed", "Running", "NotStarted") for i in images)
    staging = [p for p in (az.home / "tmp").iterdir()] if (az.home / "tmp").exists() else []
    bundles = [p.name for p in (az.home / "images").iterdir()]
    for image in images:
        if image["CreationState"] == "Succeeded":
            assert image["Id"] in bundles
    assert not [p for p in staging if p.is_dir()], "a half-built image bundle was left behind"


def test_az_words_other_than_ml_are_not_ours(az: Az) -> None:
    env = {**az.env, "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run([str(Path(sys.executable).with_name("az")), "login"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "implements only 'az ml ...'" in proc.stderr and "genuine Azure CLI was not found" in proc.stderr
