"""What a batch service's job runs: its parameters' values turned into a `mlops_engine.batch` job spec.

Legacy contract: the driver (`app/main.py`) runs as `main.py <Id> <value> ...` (batch/legacy.py). Parallel
contract (Azure ML's ParallelRunStep): the Reference inputs are the job's input files or folders, the one
Reference output names the folder under which each job writes `<job name>/<append_row_file_name>`, Value
parameters named like a ParallelRunConfig setting are that setting, and any other Value parameter is put on
the entry script's argv as `<Id> <value>` (ParallelRunStep `arguments`). Values are checked here and by the
batch engine when the job is created, so a job that cannot run is refused at submission, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Final

from ...batch import (
    BatchConfigError,
    BatchInputError,
    DriverParameter,
    ExecutorSpec,
    LegacyDriverSpec,
    LegacyJobSpec,
    ParallelJobSpec,
    settings_from_mapping,
)
from ...batch.plan import local_path
from ...batch.settings import SETTING_NAMES
from ...batch.specs import JobSpec
from ..store.batch_records import BatchParameter, BatchService

REMOTE: Final = ("http:", "https:", "wasb:", "wasbs:")
DRIVER: Final = "main.py"  # the legacy service renamed every driver main.py (Package.DriverProgramAsset)


def check_reference(param: BatchParameter, value: str) -> Path:
    """A reference value: a local path or file:// URI (an input must exist); remote storage is refused."""
    if value.lower().startswith(REMOTE):
        raise BatchInputError(
            f"Remote paths ({value}) are not supported by the local engine: give a local path or a file:// URI"
        )
    path = local_path(value)
    if param.direction == "Input" and not path.exists():
        raise BatchInputError(f"{path} does not exist or is not accessible")
    return path


def is_setting(service: BatchService, name: str) -> bool:
    return service.contract == "parallel" and name in SETTING_NAMES


def check_values(service: BatchService, values: Mapping[str, str]) -> None:
    """Every value names a declared parameter (or, for a parallel service, a setting); references are usable."""
    declared = {p.id: p for p in service.parameters}
    unknown = [k for k in values if k not in declared and not is_setting(service, k)]
    if unknown:
        known = ", ".join(declared) or "(none)"
        raise BatchConfigError(
            f"unknown parameter {', '.join(unknown)}; web service '{service.name}' declares: {known}"
        )
    for key, value in values.items():
        param = declared.get(key)
        if param is not None and param.kind == "Reference" and value:
            check_reference(param, value)


def job_spec(
    service: BatchService, values: Mapping[str, str], job_name: str, dask: str | None, python: str
) -> JobSpec:
    """The batch engine's spec for one job of `service` (raises BatchError subclasses with the reason)."""
    check_values(service, values)
    app = Path(service.app_dir)
    if service.contract == "legacy":
        params = tuple(DriverParameter(p.id, p.kind, p.direction, p.default) for p in service.parameters)
        deps = tuple(str(app / a.id) for a in service.assets)
        return LegacyJobSpec(LegacyDriverSpec(str(app / DRIVER), params, deps, python), tuple(values.items()))
    inputs: list[str] = []
    output: Path | None = None
    settings: dict[str, str] = dict(service.settings)
    arguments: list[str] = []
    missing: list[str] = []
    for p in service.parameters:
        value = values.get(p.id, p.default)
        if value is None or value == "":
            missing.append(p.id)
        elif p.kind == "Reference" and p.direction == "Input":
            inputs.append(str(check_reference(p, value)))
        elif p.kind == "Reference":
            output = check_reference(p, value)
        elif p.id in SETTING_NAMES:
            settings[p.id] = value
        else:
            arguments += [p.id, value]
    if missing:
        raise BatchConfigError(f"no value for parameter {', '.join(missing)}; give <Id>:<value> for each")
    settings.update((k, v) for k, v in values.items() if k not in {p.id for p in service.parameters})
    parsed = settings_from_mapping(settings)
    if arguments:
        parsed = replace(parsed, arguments=parsed.arguments + tuple(arguments))
    assert output is not None  # a parallel service declares exactly one output (checked at create)
    executor = ExecutorSpec("dask", dask) if dask else ExecutorSpec()
    return ParallelJobSpec(
        str(app / DRIVER), tuple(inputs), str(output / job_name), parsed, "auto", (), executor, python
    )
