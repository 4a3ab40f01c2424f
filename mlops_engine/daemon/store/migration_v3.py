"""Schema 3: batch scoring (issue 9): batch services, their jobs, published pipelines and their schedules."""

from __future__ import annotations

import sqlite3
from typing import Final

from .migration_v2 import run_script

SCHEMA: Final = """
    CREATE TABLE batch_services (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
        contract TEXT NOT NULL, app_dir TEXT NOT NULL, driver_name TEXT NOT NULL, driver_uri TEXT NOT NULL,
        assets TEXT NOT NULL, parameters TEXT NOT NULL, settings TEXT NOT NULL, dask_scheduler TEXT,
        created TEXT NOT NULL, modified TEXT NOT NULL);
    CREATE TABLE batch_jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, name TEXT NOT NULL, contract TEXT NOT NULL, state TEXT NOT NULL,
        trigger TEXT NOT NULL, job_values TEXT NOT NULL, executor TEXT, job_dir TEXT NOT NULL,
        created TEXT NOT NULL, modified TEXT NOT NULL, experiment TEXT, pipeline_id TEXT, schedule_id TEXT,
        started TEXT, ended TEXT, batches_total INTEGER NOT NULL, batches_done INTEGER NOT NULL,
        batches_failed INTEGER NOT NULL, items_total INTEGER NOT NULL, items_done INTEGER NOT NULL,
        items_failed INTEGER NOT NULL, output_path TEXT, partial INTEGER NOT NULL, log_path TEXT,
        first_error TEXT NOT NULL, message TEXT NOT NULL,
        UNIQUE (service, name));
    CREATE INDEX batch_jobs_by_state ON batch_jobs (state);
    CREATE TABLE pipelines (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL, description TEXT NOT NULL, state TEXT NOT NULL, primary_key TEXT NOT NULL,
        secondary_key TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL);
    CREATE TABLE schedules (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
        pipeline_id TEXT NOT NULL, experiment TEXT NOT NULL, frequency TEXT NOT NULL, interval INTEGER NOT NULL,
        start_time TEXT, state TEXT NOT NULL, assignments TEXT NOT NULL, created TEXT NOT NULL,
        modified TEXT NOT NULL, next_run TEXT, last_run TEXT, last_job TEXT, last_outcome TEXT NOT NULL);
"""


def to_v3(conn: sqlite3.Connection) -> None:
    run_script(conn, SCHEMA)
