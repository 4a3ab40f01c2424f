"""One orchestrator run at a time per `MLOPS_HOME` (issue 13, item 7).

Why this shape: two runs on one home raced on the same services, staging folders and journal rows (a failed
create recorded for a live service, two first runs crashing on the journal's migration). A second run does
not wait: it exits at once (exit code 1) naming the run that holds the home, since a deploy can take
minutes and a silent wait looks like a hang; the user runs it again when the first one is done, or uses
another MLOPS_HOME. The lock is `fcntl.flock` on `$MLOPS_HOME/orchestrator.lock`: the kernel releases it when
the holder exits, kill -9 included, so a stale lock never blocks anyone. Read-only commands (`history`,
`validate`, `--dry-run`) take no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from orchestrator.errors import MlopsError


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as it wrote itself into the lock file."""

    pid: int
    command: str
    started: str

    def describe(self) -> str:
        return f"`{self.command}` (pid {self.pid}, started {self.started})"


class HomeBusy(MlopsError):
    """Another orchestrator run holds this MLOPS_HOME."""

    def __init__(self, home: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder else "(its pid could not be read)"
        super().__init__(
            f"another mlops run is using {home}: {who}. Two runs on one home would race on the same services "
            "and journal; run this command again when that one has finished (or set MLOPS_HOME to another folder)."
        )
        self.holder = holder


def _read_holder(handle: IO[str]) -> Holder | None:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "null")
        return Holder(int(data["pid"]), str(data["command"]), str(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def hold(home: Path, command: str) -> Iterator[Holder]:
    """Hold the home's run lock for the block; HomeBusy at once if another run holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "orchestrator.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HomeBusy(home, _read_holder(handle)) from None
        me = Holder(os.getpid(), command, datetime.now(UTC).isoformat(timespec="seconds"))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": me.pid, "command": me.command, "started": me.started}))
        handle.flush()
        try:
            yield me
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
