"""`az ml experiment submit|prepare -c local` (Workbench-era commands used by the churn lab, 04.2 §3).

They were never part of the azure-cli-ml package (legacy reference 1). Here `-c local` runs the script
with this Python interpreter in a snapshot of the current folder under $MLOPS_HOME/runs/<run id>/,
streams its output, and keeps its outputs/ folder there. Workbench's Docker targets (`-c docker`)
built a container first; the local engine has no container runtime, so only `local` is accepted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

_SKIP = {".git", "outputs", "__pycache__", ".venv", "venv", ".ipynb_checkpoints"}


def _check_target(target: str) -> None:
    if target != "local":
        raise CliError(f"Run configuration '{target}' is not available in the local engine: it runs scripts with "
                       f"this machine's Python ({sys.executable}). Use -c local.")


def prepare(ctx: Context, target: str) -> None:
    _check_target(target)
    ctx.out(f"The local target runs scripts with {sys.executable} (Python {sys.version.split()[0]}); "
            "nothing to prepare.")


def submit(ctx: Context, target: str, script: str, script_args: list[str]) -> None:
    _check_target(target)
    if not os.path.isfile(script):
        raise CliError(f"Script not found: {script}. Run the command from the folder that contains it.")
    project = os.path.basename(os.getcwd()) or "project"
    run_id = f"{project}_{int(time.time() * 1000)}"
    ctx.paths.ensure()
    (ctx.paths.home / "runs").mkdir(mode=0o700, exist_ok=True)  # the home's entries are private
    run_dir = ctx.paths.home / "runs" / run_id
    snapshot = run_dir / "snapshot"
    shutil.copytree(os.getcwd(), snapshot, ignore=lambda d, names: [n for n in names if n in _SKIP])
    ctx.out(f"RunId: {run_id}")
    ctx.out("")
    ctx.out("Executing user inputs .....")
    ctx.out("===========================")
    ctx.out("")
    sys.stdout.flush()
    started = time.monotonic()
    with open(run_dir / "driver_log.txt", "wb") as log:
        proc = subprocess.Popen([sys.executable, script, *script_args], cwd=snapshot,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.readline(), b""):  # type: ignore[union-attr]
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            log.write(chunk)
        code = proc.wait()
    outputs = snapshot / "outputs"
    ctx.out("")
    ctx.out("Execution Details")
    ctx.out("=================")
    ctx.out(f"RunId: {run_id}")
    ctx.out(f"Status: {'Completed' if code == 0 else 'Failed'} (exit code {code}, {time.monotonic() - started:.1f} s)")
    ctx.out(f"Log: {run_dir / 'driver_log.txt'}")
    if outputs.is_dir():
        ctx.out(f"Outputs: {outputs}")
        for name in sorted(os.listdir(outputs)):
            ctx.out(f"  {name}    (copy it here with: cp {outputs / name} .)")
    if code != 0:
        raise CliError(f"Run {run_id} failed with exit code {code}; see {run_dir / 'driver_log.txt'}.")
