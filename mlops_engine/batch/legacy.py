"""The legacy batch driver contract: ``python main.py <Id> <value> <Id> <value> ...``.

The legacy service (SparkBatch) ran the uploaded driver as ``main.py`` with the service's parameters as
``Id value`` pairs, in declaration order, reference values being URIs; ``.py`` dependencies were on its Python
path (spark-submit ``--py-files``) and other files beside it.  Here: the driver and its dependencies are copied
into the job's ``app/`` folder (the working directory, also on ``PYTHONPATH``), reference values may be local
paths or ``file://`` URIs and are passed in the form given, made absolute; input references must exist; the
driver's stdout and stderr go to ``logs/driver.log`` (the job's ``DriverLogFile``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlops_engine.batch.errors import BatchConfigError, BatchInputError
from mlops_engine.batch.plan import local_path
from mlops_engine.batch.records import JobState

ParamKind = Literal["Reference", "Value"]
DRIVER_SHIM = Path(__file__).with_name("driver_shim.py")  # ends the driver when the engine dies
Direction = Literal["Input", "Output"]


@dataclass(frozen=True)
class DriverParameter:
    """One declared service parameter (the legacy ``--in``/``--out``/``--param <Id>[:<default>]``)."""

    id: str
    kind: ParamKind
    direction: Direction
    default: str | None = None

    @classmethod
    def parse(cls, text: str, kind: ParamKind, direction: Direction) -> DriverParameter:
        """Split at the FIRST ``:`` as the legacy CLI did: the default may itself contain ``:`` (URIs)."""
        name, sep, default = text.partition(":")
        if not name.strip():
            raise BatchConfigError(f"parameter {text!r} has no name; write <name>[:<default>]")
        return cls(name, kind, direction, default if sep else None)


@dataclass(frozen=True)
class LegacyDriverSpec:
    driver: str
    parameters: tuple[DriverParameter, ...] = ()
    dependencies: tuple[str, ...] = ()
    python: str | None = None

    def validate(self) -> None:
        driver = Path(self.driver)
        if not driver.is_file():
            raise BatchInputError(f"driver {driver} does not exist or is not a file")
        if not os.access(driver, os.R_OK):
            raise BatchInputError(f"driver {driver} is not readable")
        for dep in self.dependencies:
            if not Path(dep).exists():
                raise BatchInputError(f"dependency {dep} does not exist or is not accessible")
        seen: set[str] = set()
        for param in self.parameters:
            if param.id in seen:
                raise BatchConfigError(f"parameter {param.id!r} is declared twice")
            seen.add(param.id)


def _reference(param: DriverParameter, value: str) -> str:
    path = local_path(value)
    if param.direction == "Input" and not path.exists():
        raise BatchInputError(f"{param.id}: {path} does not exist or is not accessible")
    if param.direction == "Output":
        path.parent.mkdir(parents=True, exist_ok=True)
    return path.as_uri() if value.startswith("file:") else str(path)


def driver_arguments(spec: LegacyDriverSpec, values: Mapping[str, str]) -> list[str]:
    """``Id value`` pairs in declaration order; defaults fill gaps; unknown or missing values are errors."""
    declared = {p.id for p in spec.parameters}
    unknown = [k for k in values if k not in declared]
    if unknown:
        known = ", ".join(p.id for p in spec.parameters) or "(none)"
        raise BatchConfigError(f"unknown parameter {', '.join(unknown)}; the service declares: {known}")
    argv: list[str] = []
    missing: list[str] = []
    for param in spec.parameters:
        value = values.get(param.id, param.default)
        if value is None or value == "":
            missing.append(param.id)
            continue
        argv += [param.id, _reference(param, value) if param.kind == "Reference" else value]
    if missing:
        raise BatchConfigError(f"no value for parameter {', '.join(missing)}; give <Id>:<value> for each")
    return argv


def prepare_app(spec: LegacyDriverSpec, job_dir: Path) -> Path:
    """Copy the driver (as main.py) and the dependencies into ``job_dir/app``."""
    app = job_dir / "app"
    app.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec.driver, app / "main.py")
    for dep in spec.dependencies:
        src = Path(dep)
        if src.is_dir():
            shutil.copytree(src, app / src.name, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, app / src.name)
    return app


def run_driver(
    spec: LegacyDriverSpec, argv: list[str], job_dir: Path, cancel: threading.Event
) -> tuple[JobState, str, str]:
    """Run to completion or cancel: (state, message, error text for showjob)."""
    app = prepare_app(spec, job_dir)
    log_path = job_dir / "logs" / "driver.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(app), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [spec.python or sys.executable, str(DRIVER_SHIM), str(os.getpid()), "main.py", *argv],
            cwd=app,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while True:
            try:
                code = proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if cancel.is_set():
                    _kill_group(proc)
                    return JobState.CANCELLED, "cancelled by request", ""
    _kill_group(proc)  # anything the driver left running in its group
    if code == 0:
        return JobState.SUCCEEDED, "driver exited with code 0", ""
    tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
    return JobState.FAILED, f"driver exited with code {code}", "\n".join(tail)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
