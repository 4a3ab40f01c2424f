"""What steps share during one run: the az client, the journal, output, time and produced ids."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import paths
from orchestrator.azcli import Az
from orchestrator.errors import CommandFailed
from orchestrator.journal import Journal
from orchestrator.output import Output
from orchestrator.recipes import Recipe
from orchestrator.retry import Clock, Sleep
from orchestrator.runner import DEFAULT_TIMEOUT_S, CommandResult, Runner


class JournalingRunner:
    """Wraps a Runner: every call is journaled before it starts and after it ends (kill -9 safe)."""

    def __init__(self, inner: Runner, journal: Journal, run_id: int) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id
        self.step_id: int | None = None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        call_id = self.journal.start_call(self.run_id, self.step_id, argv)
        try:
            result = self.inner.run(argv, timeout=timeout, ok_codes=ok_codes, cwd=cwd)
        except CommandFailed as exc:
            self.journal.finish_call(call_id, exc.result.exit_code)
            raise
        self.journal.finish_call(call_id, result.exit_code)
        return result


@dataclass
class Context:
    """Mutable per-run state; `produced` holds ids created or found by earlier steps."""

    recipe: Recipe
    az: Az
    runner: Runner
    journal: Journal
    out: Output
    run_id: int
    python: str
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    options: Mapping[str, Any] = field(default_factory=dict)
    produced: dict[str, Any] = field(default_factory=dict)

    def staging(self) -> Path:
        """Training outputs and the files `manifest create` uploads (its -f must be in the cwd)."""
        model = self.recipe.params.model
        return paths.work_dir(self.recipe.params.service.name, model.name if model else "none")

    def exists(self, what: str) -> None:
        self.out.info(f"exists: {what}")

    def created(self, what: str) -> None:
        self.out.info(f"created: {what}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
