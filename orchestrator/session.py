"""Everything a command needs from the outside world, built once by the CLI (and by tests)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.output import Output
from orchestrator.retry import Clock, Sleep
from orchestrator.runner import Runner, ShRunner


@dataclass
class Session:
    """Global options and injected dependencies (runner, time, output)."""

    az_prefix: tuple[str, ...]
    out: Output = field(default_factory=Output)
    dry_run: bool = False
    prog: str = "python mlops.py"  # how the user runs mlops, for the hints we print (`mlops` as a console script)
    python: str = sys.executable
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    jitter: bool = True
    runner_factory: Callable[[], Runner] = ShRunner
    _runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        """Created on first use, so `validate` and `--dry-run` never start anything."""
        if self._runner is None:
            self._runner = self.runner_factory()
        return self._runner
