"""`python -m mlops_engine daemon start|stop|status`: manage the local Model Management service."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from mlops_engine.cli.client import Client, _read_info
from mlops_engine.cli.errors import CliError
from mlops_engine.paths import Paths


def _pid(paths: Paths) -> int | None:
    try:
        return int(json.loads(paths.daemon_info.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _running(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def stop(paths: Paths, timeout: float = 20.0) -> bool:
    """Ask the daemon to stop (it stops its replicas first); kill it if it does not. True if it was running."""
    pid = _pid(paths)
    if not _running(pid):
        return False
    asked = False
    try:
        if _read_info(paths):
            asked = Client(paths).request("POST", "/shutdown").status == 202
    except CliError:  # a damaged or stale token file: the daemon stops its replicas on SIGTERM as well
        pass
    if not asked:
        os.kill(pid, signal.SIGTERM)  # type: ignore[arg-type]
    deadline = time.monotonic() + timeout
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
    return True


def _print_services(client: Client) -> None:
    """Every service of every account, with its replicas (what `az ml service show -v` leaves out)."""
    sub = client.call("GET", "/info")["subscriptionId"]
    accounts = client.call("GET", f"/subscriptions/{sub}/providers/Microsoft.MachineLearningModelManagement/accounts")
    for acct in accounts.get("value", []):
        rg = acct["id"].split("/")[4]
        base = f"/api/subscriptions/{sub}/resourceGroups/{rg}/accounts/{acct['name']}"
        for svc in client.call("GET", base + "/services").get("value", []):
            print(f"  service {svc['id']} ({svc.get('state')}) {svc.get('scoringUri')} live image {svc.get('liveImageId')}")
            for rep in svc.get("replicas") or []:
                print(f"    replica pid {rep.get('pid')} {rep.get('state')} restarts {rep.get('restarts')} image {rep.get('imageId')}")


def main(argv: list[str]) -> int:
    paths = Paths.default()
    action = argv[0] if argv else "status"
    try:
        if action == "start":
            url = Client(paths).base_url
            print(f"Local Model Management service running at {url} (pid {_pid(paths)}, home {paths.home})")
        elif action == "stop":
            print("Stopped." if stop(paths) else "Not running.")
        elif action == "status":
            pid = _pid(paths)
            if _running(pid):
                print(f"Running (pid {pid}) at http://127.0.0.1:{_read_info(paths)[0]}, home {paths.home}")  # type: ignore[index]
                _print_services(Client(paths))
            else:
                print(f"Not running (home {paths.home}).")
                return 3
        else:
            sys.stderr.write("usage: python -m mlops_engine daemon start|stop|status\n")
            return 2
    except CliError as err:
        sys.stderr.write(err.render() + "\n")
        return 1
    return 0
