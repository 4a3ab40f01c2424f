"""ParallelRunStep settings: one frozen record, parsed from ``name=value`` strings or a JSON/YAML config file.

Names, defaults and ranges follow Azure ML's ``ParallelRunConfig`` (azureml-pipeline-steps) so that the same
values mean the same thing here and there; differences are listed in docs/batch.md.  Nothing is silently
replaced: a value that does not parse is an error naming the setting, what was given and what is accepted.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from mlops_engine.batch.errors import BatchConfigError

OutputAction = Literal["append_row", "summary_only"]
OUTPUT_ACTIONS: Final = ("append_row", "summary_only")
LOGGING_LEVELS: Final = ("WARNING", "INFO", "DEBUG")
DEFAULT_APPEND_ROW_FILE: Final = "parallel_run_step.txt"
DEFAULT_FILES_PER_BATCH: Final = 10  # FileDataset default (files)
DEFAULT_TABULAR_BYTES: Final = 1024 * 1024  # TabularDataset default (1MB)
_INT_MAX: Final = 2**31 - 1
_SIZE = re.compile(r"^\s*(\d+)\s*(KB|MB|GB)?\s*$", re.IGNORECASE)
_UNITS: Final = {None: 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@dataclass(frozen=True)
class MiniBatchSize:
    """``mini_batch_size`` as given: a count (files) or a byte size (tabular); which applies depends on the input."""

    text: str
    value: int  # files for a file input; bytes for a tabular input
    has_unit: bool

    def files(self) -> int:
        if self.has_unit:
            raise BatchConfigError(
                f"mini_batch_size={self.text!r} is a data size, but the input is a list of files: "
                "give a number of files, e.g. mini_batch_size=10"
            )
        return self.value

    def tabular_bytes(self) -> int:
        return self.value


def parse_mini_batch_size(text: str) -> MiniBatchSize:
    match = _SIZE.match(str(text))
    if match is None or int(match.group(1)) < 1:
        raise BatchConfigError(
            f"mini_batch_size: expected a number of files (e.g. 10) or a data size such as 1024, 1024KB, 10MB "
            f"or 1GB (at least 1), got {text!r}"
        )
    unit = match.group(2).upper() if match.group(2) else None
    return MiniBatchSize(
        text=str(text).strip(), value=int(match.group(1)) * _UNITS[unit], has_unit=unit is not None
    )


@dataclass(frozen=True)
class ParallelRunSettings:
    """The effective settings of one parallel job (ParallelRunConfig's names; ``None`` = Azure ML's default)."""

    mini_batch_size: MiniBatchSize | None = None
    error_threshold: int = -1
    allowed_failed_count: int | None = None
    allowed_failed_percent: float | None = None
    output_action: OutputAction = "append_row"
    append_row_file_name: str = DEFAULT_APPEND_ROW_FILE
    append_row_dataframe_header: bool = False
    process_count_per_node: int | None = None
    node_count: int = 1
    run_invocation_timeout: float = 60.0
    run_max_try: int = 3
    logging_level: str = "INFO"
    arguments: tuple[str, ...] = ()

    def processes_per_node(self) -> int:
        """Azure ML's default on a CPU node: the number of cores."""
        return self.process_count_per_node or max(1, os.cpu_count() or 1)

    def total_processes(self) -> int:
        return self.node_count * self.processes_per_node()

    def files_per_batch(self) -> int:
        return DEFAULT_FILES_PER_BATCH if self.mini_batch_size is None else self.mini_batch_size.files()

    def tabular_batch_bytes(self) -> int:
        return DEFAULT_TABULAR_BYTES if self.mini_batch_size is None else self.mini_batch_size.tabular_bytes()

    def to_json(self) -> dict[str, Any]:
        """Plain values, re-parseable by :func:`settings_from_mapping`; settings left to their default are omitted."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, MiniBatchSize):
                value = value.text
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _int(name: str, text: Any, low: int, high: int = _INT_MAX) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise BatchConfigError(f"{name}: expected a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise BatchConfigError(f"{name}: must be in [{low}, {high}], got {value}")
    return value


def _float(name: str, text: Any, low: float, high: float) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise BatchConfigError(f"{name}: expected a number, got {text!r}") from None
    if math.isnan(value) or not low <= value <= high:
        raise BatchConfigError(f"{name}: must be in [{low:g}, {high:g}], got {text!r}")
    return value


def _bool(name: str, text: Any) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BatchConfigError(f"{name}: expected true or false, got {text!r}")


def _file_name(name: str, text: Any) -> str:
    value = str(text).strip()
    if not value or value in (".", "..") or "/" in value or "\\" in value or "\x00" in value:
        raise BatchConfigError(f"{name}: expected a plain file name (no folders), got {text!r}")
    return value


def _arguments(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise BatchConfigError(f"{name}: expected a list of strings, got {value!r}")


def _choice(name: str, text: Any, choices: tuple[str, ...], upper: bool = False) -> str:
    value = str(text).strip()
    value = value.upper() if upper else value.lower()
    if value not in choices:
        raise BatchConfigError(f"{name}: expected one of {', '.join(choices)}, got {text!r}")
    return value


_PARSERS: Final[dict[str, Any]] = {
    "mini_batch_size": lambda v: parse_mini_batch_size(str(v)),
    "error_threshold": lambda v: _int("error_threshold", v, -1),
    "allowed_failed_count": lambda v: _int("allowed_failed_count", v, -1),
    "allowed_failed_percent": lambda v: _float("allowed_failed_percent", v, 0.0, 100.0),
    "output_action": lambda v: _choice("output_action", v, OUTPUT_ACTIONS),
    "append_row_file_name": lambda v: _file_name("append_row_file_name", v),
    "append_row_dataframe_header": lambda v: _bool("append_row_dataframe_header", v),
    "process_count_per_node": lambda v: _int("process_count_per_node", v, 1, 256),
    "node_count": lambda v: _int("node_count", v, 1, 1024),
    "run_invocation_timeout": lambda v: _float("run_invocation_timeout", v, 0.001, 7 * 24 * 3600.0),
    "run_max_try": lambda v: _int("run_max_try", v, 1),
    "logging_level": lambda v: _choice("logging_level", v, LOGGING_LEVELS, upper=True),
    "arguments": lambda v: _arguments("arguments", v),
}
SETTING_NAMES: Final = tuple(_PARSERS)


def settings_from_mapping(
    values: Mapping[str, Any], base: ParallelRunSettings | None = None
) -> ParallelRunSettings:
    """Validate ``values`` (setting name -> value) over ``base`` (defaults if None); unknown names are errors."""
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        key = str(name).strip()
        if key not in _PARSERS:
            raise BatchConfigError(
                f"unknown parallel-run setting {key!r}; known settings: {', '.join(SETTING_NAMES)}"
            )
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise BatchConfigError(f"setting {key!r} has no value; write {key}=<value>")
        changes[key] = _PARSERS[key](raw)
    return replace(base or ParallelRunSettings(), **changes)


def split_param(item: str) -> tuple[str, str]:
    """``name=value`` or ``name:value`` (the legacy ``--param`` syntax) -> (name, value); the value must be there."""
    positions = [i for i in (item.find("="), item.find(":")) if i >= 0]
    if not positions:
        raise BatchConfigError(f"setting {item!r} has no value; write {item.strip()}=<value>")
    cut = min(positions)
    name, value = item[:cut].strip(), item[cut + 1 :]
    if not name:
        raise BatchConfigError(f"setting {item!r} has no name; write <name>=<value>")
    if not value.strip():
        raise BatchConfigError(f"setting {name!r} has no value; write {name}=<value>")
    return name, value


def settings_from_params(
    items: Iterable[str], base: ParallelRunSettings | None = None
) -> ParallelRunSettings:
    """Parse ``--param``-style strings; a name given twice is an error (the legacy CLI silently kept the last)."""
    values: dict[str, str] = {}
    for item in items:
        name, value = split_param(item)
        if name in values:
            raise BatchConfigError(
                f"setting {name!r} given twice ({values[name]!r} and {value!r}); give it once"
            )
        values[name] = value
    return settings_from_mapping(values, base)


def settings_from_file(
    path: str | os.PathLike[str], base: ParallelRunSettings | None = None
) -> ParallelRunSettings:
    """Read a JSON or YAML mapping of setting name -> value (a top-level ``parallel_run`` key is also accepted)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise BatchConfigError(f"cannot read the settings file {file}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise BatchConfigError(
            f"{file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("parallel_run"), dict) and len(data) == 1:
        data = data["parallel_run"]
    if not isinstance(data, dict):
        raise BatchConfigError(
            f"{file}: expected a mapping of setting names to values, got {type(data).__name__}"
        )
    return settings_from_mapping(data, base)
