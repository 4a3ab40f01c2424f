"""Opening the journal, and what to say when `journal.db` is damaged (issue 13, item 7).

Why this shape: a corrupt journal ended every command with "this is a bug in mlops". It is the user's file
and only history is in it (the services themselves live in the engine or in Azure), so the message names the
files to move aside, with the command, and `rollback` goes on without it: the current image comes from
`az ml service show -v` and the older versions from `az ml image list` (steps/service.py, Rollback).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.errors import MlopsError
from orchestrator.journal import Journal


class JournalCorrupt(MlopsError):
    """journal.db is not a readable SQLite database; the message says what to move aside."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path = path
        super().__init__(
            f"the journal {path} is damaged ({cause}). Move it aside and run the command again; a new, empty "
            f"journal is then started:\n  {move_aside_command(path)}\n"
            "Deployed services are not affected. `rollback --service NAME` works without the journal's history "
            "(it reads the current image from `az ml service show -v` and older versions from `az ml image list`)."
        )


class JournalLocked(MlopsError):
    """Another process kept journal.db locked longer than SQLite's busy timeout."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        super().__init__(
            f"the journal {path} stayed locked by another process ({cause}); run the command again when the other "
            "mlops command has finished"
        )


def move_aside_command(path: Path) -> str:
    """`mkdir ... && mv journal.db journal.db-wal journal.db-shm ...`: the WAL must go with its database."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"journal-damaged-{stamp}")
    files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]
    present = [str(f) for f in files if f.exists()] or [str(path)]
    return f"mkdir {aside} && mv {' '.join(present)} {aside}/"


def journal_error(path: Path, exc: sqlite3.DatabaseError) -> MlopsError:
    """The user-facing error for a SQLite failure on the journal."""
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return JournalLocked(path, exc)
    return JournalCorrupt(path, exc)


def open_journal(path: Path) -> Journal:
    """The journal at `path`, created or migrated; JournalCorrupt / JournalLocked instead of a SQLite error."""
    try:
        journal = Journal(path)
        journal.check()
    except sqlite3.DatabaseError as exc:
        raise journal_error(path, exc) from exc
    return journal


def scratch_journal() -> Journal:
    """An in-memory journal for a run that must go on without the damaged file (nothing is kept)."""
    return Journal(Path(":memory:"))
