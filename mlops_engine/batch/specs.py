"""What a job runs: the typed, JSON-round-trippable specs a daemon stores and hands to :class:`BatchJob`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_engine.batch.legacy import DriverParameter, LegacyDriverSpec
from mlops_engine.batch.settings import ParallelRunSettings, settings_from_mapping


@dataclass(frozen=True)
class ExecutorSpec:
    kind: Literal["local", "dask"] = "local"
    address: str | None = None  # the Dask scheduler, e.g. tcp://10.0.0.5:8786
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class ParallelJobSpec:
    entry_script: str
    inputs: tuple[str, ...]
    output_dir: str
    settings: ParallelRunSettings = field(default_factory=ParallelRunSettings)
    input_kind: str = "auto"
    source_dirs: tuple[str, ...] = ()
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)
    python: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_script": self.entry_script,
            "inputs": list(self.inputs),
            "output_dir": self.output_dir,
            "settings": self.settings.to_json(),
            "input_kind": self.input_kind,
            "source_dirs": list(self.source_dirs),
            "executor": self.executor.__dict__,
            "python": self.python,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParallelJobSpec:
        return cls(
            data["entry_script"],
            tuple(data["inputs"]),
            data["output_dir"],
            settings_from_mapping(data["settings"]),
            data["input_kind"],
            tuple(data["source_dirs"]),
            ExecutorSpec(**data["executor"]),
            data["python"],
        )


@dataclass(frozen=True)
class LegacyJobSpec:
    driver: LegacyDriverSpec
    values: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = self.driver
        return {
            "driver": d.driver,
            "dependencies": list(d.dependencies),
            "python": d.python,
            "parameters": [[p.id, p.kind, p.direction, p.default] for p in d.parameters],
            "values": [list(v) for v in self.values],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LegacyJobSpec:
        params = tuple(DriverParameter(*p) for p in data["parameters"])
        driver = LegacyDriverSpec(data["driver"], params, tuple(data["dependencies"]), data["python"])
        return cls(driver, tuple((k, v) for k, v in data["values"]))


JobSpec = ParallelJobSpec | LegacyJobSpec
