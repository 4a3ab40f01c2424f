"""A job's persisted state: ``job_dir/state.json``, one :class:`JobRecord`, replaced atomically."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from mlops_engine.batch.errors import BatchInputError
from mlops_engine.batch.records import JobRecord

STATE_FILE = "state.json"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_record(job_dir: Path, record: JobRecord) -> None:
    tmp = job_dir / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(json.dumps(record.to_json(), indent=1), encoding="utf-8")
    os.replace(tmp, job_dir / STATE_FILE)


def read_record(job_dir: Path) -> JobRecord:
    try:
        return JobRecord.from_json(json.loads((job_dir / STATE_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise BatchInputError(f"{job_dir} holds no batch job ({STATE_FILE} missing)") from None
