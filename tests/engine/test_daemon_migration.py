"""Schema 1 -> 2 (-> 3): a home written by the previous daemon (fixtures/home_v1, see make_home_v1.py) is migrated
in place and answers every GET exactly as the previous daemon did."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mlops_engine.daemon.store.database import Database
from mlops_engine.daemon.store.migrations import MIGRATIONS

from .daemon_client import DaemonProcess

FIXTURE = Path(__file__).parent / "fixtures" / "home_v1"
LIVE_FIELDS = ("replicas", "liveImageId")  # what the supervisor reports now, not stored state


def _home_v1(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    conn = sqlite3.connect(home / "state.db")
    conn.executescript((FIXTURE / "state.sql").read_text().replace("{HOME}", str(home)))
    conn.close()
    return home


def _without_live(value):
    if isinstance(value, dict):
        return {k: _without_live(v) for k, v in value.items() if k not in LIVE_FIELDS}
    if isinstance(value, list):
        return [_without_live(v) for v in value]
    return value


def _all_serving(listing) -> bool:
    return all(s["liveImageId"] for s in listing["value"] if s["state"] == "Succeeded")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_v1_home_is_migrated_in_place(tmp_path):
    home = _home_v1(tmp_path)
    before = sqlite3.connect(home / "state.db")
    counts = {
        t: before.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("accounts", "environments", "models", "manifests", "images", "services", "operations")
    }
    assert before.execute("SELECT version FROM schema_version").fetchone()[0] == 1
    assert "_pending" in before.execute("SELECT doc FROM services WHERE name = 'irisapp'").fetchone()[0]
    before.close()

    db = Database(home / "state.db")
    assert db.schema_version() == len(MIGRATIONS) == 3  # 1 -> 2 -> 3 (batch tables)
    conn = db.conn()
    for table, count in counts.items():
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == count, table
        assert "doc" not in _columns(conn, table), table
    assert conn.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == 2  # the two Succeeded envs
    # the settings a killed update left in the document are gone; the service keeps its applied ones
    row = conn.execute("SELECT num_replicas, min_replicas FROM services WHERE name = 'irisapp'").fetchone()
    assert row[:2] == (2, 2)
    # AUTOINCREMENT continues after the migrated rows (list order = creation order)
    top = conn.execute("SELECT MAX(seq) FROM models").fetchone()[0]
    assert conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'models'").fetchone()[0] == top
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"cluster_service_names", "local_service_names", "models_by_name"} <= names


def test_a_failed_migration_leaves_schema_1_untouched(tmp_path):
    home = _home_v1(tmp_path)
    conn = sqlite3.connect(home / "state.db")
    with conn:
        conn.execute("UPDATE accounts SET doc = '{\"name\": \"broken\"}' WHERE key = 'otherrg/second'")
    conn.close()
    with pytest.raises(TypeError, match="account otherrg/second"):
        Database(home / "state.db")
    conn = sqlite3.connect(home / "state.db")
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 1
    assert "doc" in _columns(conn, "services")
    assert conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 5
    conn.close()


def test_v1_home_answers_as_the_previous_daemon(tmp_path):
    home = _home_v1(tmp_path)
    wire = json.loads((FIXTURE / "wire.json").read_text().replace("{HOME}", str(home)))
    conn = sqlite3.connect(home / "state.db")
    running = conn.execute("SELECT image_id FROM services WHERE desired = 'running'").fetchall()
    (irisapp,) = conn.execute("SELECT id FROM services WHERE name = 'irisapp'").fetchone()
    conn.close()
    for (image_id,) in running:  # what the fake supervisor reads to start a restored service
        bundle = home / "images" / image_id
        (bundle / "app").mkdir(parents=True, exist_ok=True)
        (bundle / "image.json").write_text('{"driver": "score.py"}')
        (bundle / "app" / "score.py").write_text("def run(data):\n    return data\n")
    d = DaemonProcess(home).start()
    try:
        assert d.sub == wire["subscription"]
        for path, expected in wire["gets"].items():
            path = path.replace("{SUB}", d.sub)
            reply = d.request("POST", path) if path.endswith("/listKeys") else d.get(path)
            assert reply.status == 200, (path, reply.text)
            expected = json.loads(json.dumps(expected).replace("127.0.0.1:{PORT}", f"127.0.0.1:{d.port}"))
            got = _without_live(reply.json())
            if path.endswith("/services"):  # restored by the new daemon: wait until it serves again
                got = _without_live(d.wait_for(lambda p=path: d.get(p).json(), _all_serving))
            assert json.dumps(got) == json.dumps(_without_live(expected)), path
        interrupted = d.get(d.mms() + "/operations/9f0c2b1e-0000-4000-8000-000000000001").json()
        assert interrupted["state"] == "Failed"
        assert interrupted["error"]["details"][0]["code"] == "DaemonRestarted"
        service = d.get(d.mms() + f"/services/{irisapp}").json()
        assert service["numReplicas"] == 2 and len(service["replicas"]) == 2  # min of the autoscaler, not 5
    finally:
        d.stop()
    conn = sqlite3.connect(home / "state.db")
    assert conn.execute("SELECT COUNT(*) FROM services WHERE target_image_id != image_id").fetchone()[0] == 0
    conn.close()
