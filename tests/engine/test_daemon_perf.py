"""Registry scale: listing 10,000 model versions and registering into a large registry stay fast."""

from __future__ import annotations

import sqlite3
import statistics
import time
import uuid

import pytest

from .daemon_client import daemon_fixture, targz  # noqa: F401


def _bulk_models(d, count: int) -> None:
    """Insert `count` versions straight into state.db (WAL allows it while the daemon runs)."""
    conn = sqlite3.connect(d.home / "state.db")
    rows = []
    for i in range(count):
        rows.append(
            (uuid.uuid4().hex, "rg1/acct", f"m{i % 100}", i // 100 + 1, '["bulk"]', "",
             "artifact://sha256/" + "0" * 64, "application/json", 1, "2026-01-01T00:00:00.000000Z")
        )  # fmt: skip
    with conn:
        conn.executemany(
            "INSERT INTO models (id, account, name, version, tags, description, url, mime_type, unpack, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


def _register_seconds(d, url: str, n: int = 20) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        reply = d.request(
            "POST",
            d.mms() + "/models",
            {
                "name": "m7",
                "tags": [],
                "description": "",
                "url": url,
                "mimeType": "application/json",
                "unpack": True,
            },
        )
        times.append(time.perf_counter() - start)
        assert reply.status == 200
    return statistics.median(times)


@pytest.mark.slow
def test_list_and_register_at_10k(daemon):
    url = daemon.upload(targz({"model.pkl": b"M"}))
    empty = _register_seconds(daemon, url)
    _bulk_models(daemon, 10_000)
    full = _register_seconds(daemon, url)
    listing = []
    for _ in range(5):
        start = time.perf_counter()
        reply = daemon.get(daemon.mms() + "/models")
        listing.append(time.perf_counter() - start)
        assert reply.status == 200
    assert len(reply.json()["value"]) == 10_040
    print(
        f"register median at 0: {empty * 1000:.2f} ms, at 10k: {full * 1000:.2f} ms; "
        f"list 10k median {statistics.median(listing) * 1000:.1f} ms"
    )
    assert statistics.median(listing) < 0.3
    assert full < max(3 * empty, 0.02)
