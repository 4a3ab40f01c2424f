"""Typed results: `StepResult` from steps, `Outcome` from commands (convention 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NewType

ExitCode = NewType("ExitCode", int)

OK: Final = ExitCode(0)
FAILED: Final = ExitCode(1)
USAGE: Final = ExitCode(2)
BUG: Final = ExitCode(3)
INTERRUPTED: Final = ExitCode(130)

_STATUS: Final = {0: "succeeded", 1: "failed", 2: "usage_error", 3: "crashed", 130: "interrupted"}


@dataclass(frozen=True)
class StepResult:
    """What one step did: status is created | exists | updated | done | planned | failed."""

    kind: str
    status: str
    summary: str
    ids: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "summary": self.summary, "ids": dict(self.ids)}


@dataclass(frozen=True)
class Outcome:
    """What a command produced; `output.py` renders it as text or as the JSON envelope."""

    command: str
    data: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    exit_code: ExitCode = OK

    @property
    def status(self) -> str:
        return _STATUS.get(int(self.exit_code), "failed")


@dataclass(frozen=True)
class PlannedCall:
    """One command a step would run (`--dry-run`); `az` calls get the az prefix when printed."""

    argv: tuple[str, ...]
    az: bool = True
    note: str = ""
