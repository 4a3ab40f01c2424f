"""State database: versioned schema, idempotent migration, refusal of a newer schema, rollback."""

from __future__ import annotations

import pytest

from mlops_engine.daemon.store.database import Database
from mlops_engine.daemon.store.migrations import MIGRATIONS


def test_schema_version_and_reopen(tmp_path):
    db = Database(tmp_path / "state.db")
    assert db.schema_version() == len(MIGRATIONS)
    assert db.meta("k", lambda: "v1") == "v1"
    again = Database(tmp_path / "state.db")
    assert again.schema_version() == len(MIGRATIONS)
    assert again.meta("k", lambda: "v2") == "v1"
    assert again.one("PRAGMA journal_mode")[0] == "wal"


def test_newer_schema_is_refused(tmp_path):
    db = Database(tmp_path / "state.db")
    with db.tx() as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(RuntimeError, match="newer than this engine supports"):
        Database(tmp_path / "state.db")


def test_transaction_rolls_back(tmp_path):
    db = Database(tmp_path / "state.db")
    with pytest.raises(ZeroDivisionError), db.tx() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
        raise ZeroDivisionError
    assert db.one("SELECT value FROM meta WHERE key = 'a'") is None
