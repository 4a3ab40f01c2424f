"""The journal: SQLite at $MLOPS_HOME/journal.db (conventions 13; architecture "Journal").

It records runs, steps, every az argv (scrubbed) with its exit code, the ids each run produced, the
content hash of every registered model file, and per service the ordered images deployed. Mutating
calls are written *before* (exit_code NULL, resource state 'pending') and *after*; on restart the
orchestrator trusts an id only once a `show` command confirms it.

The format version lives in `schema_version`; `MIGRATIONS[n]` upgrades version n-1 to n and runs in
one transaction, so an old journal is migrated explicitly the first time a newer mlops opens it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from orchestrator.scrub import scrub_argv

FORMAT_VERSION: Final = 3

MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, recipe TEXT, params TEXT,
            started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running');
        CREATE TABLE steps (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), kind TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running', detail TEXT, started_at TEXT NOT NULL, finished_at TEXT);
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), step_id INTEGER,
            argv TEXT NOT NULL, exit_code INTEGER, started_at TEXT NOT NULL, finished_at TEXT);
        CREATE TABLE resources (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, resource_id TEXT,
            state TEXT NOT NULL, run_id INTEGER, updated_at TEXT NOT NULL, UNIQUE (kind, key));
        CREATE TABLE model_files (
            sha256 TEXT NOT NULL, model_name TEXT NOT NULL, model_id TEXT NOT NULL, model_version INTEGER,
            registered_at TEXT NOT NULL, PRIMARY KEY (sha256, model_name));
        CREATE TABLE deployments (
            id INTEGER PRIMARY KEY, service_name TEXT NOT NULL, service_id TEXT, image_id TEXT NOT NULL,
            image_version INTEGER, model_name TEXT, model_version INTEGER, deployed_at TEXT NOT NULL,
            outcome TEXT NOT NULL, run_id INTEGER);
    """,
    # v2: what kind of change each deployment was (create / update / rollback) and the image name,
    # so `rollback --to VERSION` can tell image names apart.
    2: """
        ALTER TABLE deployments ADD COLUMN action TEXT NOT NULL DEFAULT 'update';
        ALTER TABLE deployments ADD COLUMN image_name TEXT;
        CREATE INDEX deployments_by_service ON deployments (service_name, id);
    """,
    # v3: where each deployment happened (resource group, account, environment), so `rollback` can select
    # them again after the current account or environment was switched (issue 8, item 7).
    3: """
        ALTER TABLE deployments ADD COLUMN resource_group TEXT;
        ALTER TABLE deployments ADD COLUMN account TEXT;
        ALTER TABLE deployments ADD COLUMN environment TEXT;
    """,
}


def _wal(db: sqlite3.Connection, attempts: int = 200) -> None:
    """Switch to WAL. SQLite answers `database is locked` at once (no busy wait) when another process is
    switching the same new file, so this retries briefly; once a file is in WAL mode the switch is a no-op."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + 0.001 * attempt)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Location:
    """The account and environment a deployment was made in (either may be unknown)."""

    resource_group: str
    account: str | None
    environment: str | None


@dataclass(frozen=True)
class Deployment:
    """One image deployed (or attempted) on a service."""

    id: int
    service_name: str
    service_id: str | None
    image_id: str
    image_name: str | None
    image_version: int | None
    model_name: str | None
    model_version: int | None
    deployed_at: str
    outcome: str  # succeeded | failed | rolled_back
    action: str  # create | update | rollback | adopt
    resource_group: str | None = None
    account: str | None = None
    environment: str | None = None
    run_id: int | None = None


class Journal:
    """Open (creating or migrating) the journal database."""

    def __init__(self, path: Path, now: Callable[[], str] = _now) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._now = now
        # Autocommit: each record is committed before the next az call runs. WAL + synchronous=NORMAL
        # survives kill -9 of this process (only an OS crash can lose the last commits).
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        _wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    def close(self) -> None:
        self._db.close()

    def check(self) -> None:
        """sqlite3.DatabaseError when the file is damaged (a page SQLite cannot read, a broken index)."""
        problems = [str(row[0]) for row in self._db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems[:3]))

    def version(self) -> int:
        has = self._db.execute("SELECT name FROM sqlite_master WHERE name='schema_version'").fetchone()
        if not has:
            return 0
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply MIGRATIONS[current+1 .. FORMAT_VERSION] in one write transaction.

        The version is read again under the write lock: two first runs at once used to both read 0 and one
        crashed on `table runs already exists`.
        """
        if self.version() == FORMAT_VERSION:  # the common case takes no write lock
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            current = self.version()
            if current > FORMAT_VERSION:
                from orchestrator.errors import MlopsError

                raise MlopsError(
                    f"{self.path} has format version {current}, newer than this mlops ({FORMAT_VERSION}); "
                    "upgrade mlops"
                )
            for target in range(current + 1, FORMAT_VERSION + 1):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            if current < FORMAT_VERSION:
                self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                self._db.execute("DELETE FROM schema_version")
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (FORMAT_VERSION,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # runs and steps
    def start_run(self, command: str, recipe: str | None, params: dict[str, object]) -> int:
        cur = self._db.execute(
            "INSERT INTO runs (command, recipe, params, started_at) VALUES (?, ?, ?, ?)",
            (command, recipe, json.dumps(params, sort_keys=True), self._now()),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str) -> None:
        self._db.execute("UPDATE runs SET status=?, finished_at=? WHERE id=?", (status, self._now(), run_id))

    def start_step(self, run_id: int, kind: str) -> int:
        cur = self._db.execute(
            "INSERT INTO steps (run_id, kind, started_at) VALUES (?, ?, ?)", (run_id, kind, self._now())
        )
        return int(cur.lastrowid or 0)

    def finish_step(self, step_id: int, status: str, detail: str = "") -> None:
        self._db.execute(
            "UPDATE steps SET status=?, detail=?, finished_at=? WHERE id=?",
            (status, detail, self._now(), step_id),
        )

    # calls
    def start_call(self, run_id: int, step_id: int | None, argv: Sequence[str]) -> int:
        cur = self._db.execute(
            "INSERT INTO calls (run_id, step_id, argv, started_at) VALUES (?, ?, ?, ?)",
            (run_id, step_id, json.dumps(list(scrub_argv(argv))), self._now()),
        )
        return int(cur.lastrowid or 0)

    def finish_call(self, call_id: int, exit_code: int) -> None:
        self._db.execute(
            "UPDATE calls SET exit_code=?, finished_at=? WHERE id=?", (exit_code, self._now(), call_id)
        )

    def calls(self, run_id: int) -> list[tuple[list[str], int | None]]:
        rows = self._db.execute("SELECT argv, exit_code FROM calls WHERE run_id=? ORDER BY id", (run_id,))
        return [(json.loads(a), c) for a, c in rows]

    # produced resources (intent before, id after)
    def intend(self, kind: str, key: str, run_id: int) -> None:
        """Record that a create of (kind, key) is about to be sent; keeps an id already known."""
        self._db.execute(
            "INSERT INTO resources (kind, key, state, run_id, updated_at) VALUES (?, ?, 'pending', ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET state='pending', run_id=excluded.run_id, updated_at=excluded.updated_at",
            (kind, key, run_id, self._now()),
        )

    def record(self, kind: str, key: str, resource_id: str, run_id: int) -> None:
        self._db.execute(
            "INSERT INTO resources (kind, key, resource_id, state, run_id, updated_at) VALUES (?, ?, ?, 'created', ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET resource_id=excluded.resource_id, state='created', "
            "run_id=excluded.run_id, updated_at=excluded.updated_at",
            (kind, key, resource_id, run_id, self._now()),
        )

    def forget(self, kind: str, key: str) -> None:
        self._db.execute("DELETE FROM resources WHERE kind=? AND key=?", (kind, key))

    def lookup(self, kind: str, key: str) -> tuple[str | None, str] | None:
        """(resource_id, state) for (kind, key), or None when never attempted."""
        row = self._db.execute(
            "SELECT resource_id, state FROM resources WHERE kind=? AND key=?", (kind, key)
        ).fetchone()
        return (row[0], row[1]) if row else None

    # model files
    def model_for_hash(self, sha256: str, model_name: str) -> str | None:
        row = self._db.execute(
            "SELECT model_id FROM model_files WHERE sha256=? AND model_name=?", (sha256, model_name)
        ).fetchone()
        return str(row[0]) if row else None

    def record_model_file(self, sha256: str, model_name: str, model_id: str, version: int | None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO model_files (sha256, model_name, model_id, model_version, registered_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (sha256, model_name, model_id, version, self._now()),
        )

    def model_version(self, model_id: str) -> tuple[str, int | None] | None:
        row = self._db.execute(
            "SELECT model_name, model_version FROM model_files WHERE model_id=?", (model_id,)
        ).fetchone()
        return (str(row[0]), row[1]) if row else None

    # deployments
    def record_deployment(
        self,
        *,
        service_name: str,
        service_id: str | None,
        image_id: str,
        image_name: str | None,
        image_version: int | None,
        model_name: str | None,
        model_version: int | None,
        outcome: str,
        action: str,
        run_id: int | None,
        location: Location | None = None,
    ) -> int:
        where = (location.resource_group, location.account, location.environment) if location else (None,) * 3
        cur = self._db.execute(
            "INSERT INTO deployments (service_name, service_id, image_id, image_name, image_version, model_name, "
            "model_version, deployed_at, outcome, action, run_id, resource_group, account, environment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (service_name, service_id, image_id, image_name, image_version, model_name, model_version,
             self._now(), outcome, action, run_id, *where),
        )  # fmt: skip
        return int(cur.lastrowid or 0)

    def set_outcome(self, deployment_id: int, outcome: str, service_id: str | None = None) -> None:
        self._db.execute(
            "UPDATE deployments SET outcome=?, service_id=COALESCE(?, service_id) WHERE id=?",
            (outcome, service_id, deployment_id),
        )

    def settle(self, deployment_id: int, outcome: str, action: str | None = None) -> None:
        """Correct a row after the fact (reconcile.py): its outcome, and its action when it was not what ran."""
        self._db.execute(
            "UPDATE deployments SET outcome=?, action=COALESCE(?, action) WHERE id=?", (outcome, action, deployment_id)
        )

    def smoke_ran(self, run_id: int | None) -> bool:
        """Whether run `run_id` got to a smoke step (its deployment's failure may then be the smoke test's)."""
        row = self._db.execute("SELECT 1 FROM steps WHERE run_id=? AND kind='smoke' LIMIT 1", (run_id,)).fetchone()
        return row is not None

    def end_stale_runs(self, current_run_id: int) -> int:
        """Runs still 'running' other than this one ended without saying so (killed); the caller holds the home's
        run lock, so none of them can still be running. Returns how many were marked 'interrupted'."""
        cur = self._db.execute(
            "UPDATE runs SET status='interrupted', finished_at=COALESCE(finished_at, ?) "
            "WHERE status='running' AND id != ?",
            (self._now(), current_run_id),
        )
        return cur.rowcount

    def deployments(self, service_name: str | None = None) -> list[Deployment]:
        query = (
            "SELECT id, service_name, service_id, image_id, image_name, image_version, model_name, model_version, "
            "deployed_at, outcome, action, resource_group, account, environment, run_id FROM deployments"
        )
        args: tuple[str, ...] = ()
        if service_name:
            query += " WHERE service_name=?"
            args = (service_name,)
        return [Deployment(*row) for row in self._db.execute(query + " ORDER BY id", args)]

    def service_id(self, service_name: str) -> str | None:
        row = self._db.execute(
            "SELECT service_id FROM deployments WHERE service_name=? AND service_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (service_name,),
        ).fetchone()
        return str(row[0]) if row else None

    def location(self, service_name: str) -> Location | None:
        """Where the service's latest deployment with a known environment was made."""
        row = self._db.execute(
            "SELECT resource_group, account, environment FROM deployments WHERE service_name=? "
            "AND environment IS NOT NULL ORDER BY id DESC LIMIT 1",
            (service_name,),
        ).fetchone()
        return Location(row[0] or "", row[1], row[2]) if row else None

    def model_of_image(self, image_id: str) -> tuple[str, int | None] | None:
        """(model name, version) an image was deployed with, as recorded by an earlier deployment."""
        row = self._db.execute(
            "SELECT model_name, model_version FROM deployments WHERE image_id=? AND model_name IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (image_id,),
        ).fetchone()
        return (str(row[0]), row[1]) if row else None
