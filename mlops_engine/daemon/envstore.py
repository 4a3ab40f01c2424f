"""Environment records: keys, ARM ids, the env's directory and its stored ARM document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .common import bad_request, now_iso
from .engine import Engine

PROVIDER = "/providers/Microsoft.MachineLearningCompute/operationalizationClusters"
ENV_TYPE = "Microsoft.MachineLearningCompute/operationalizationClusters"


def arm_time() -> str:
    """ARM (msrest) timestamps carry milliseconds, e.g. 2017-12-01T09:00:00.251Z (legacy 5.1)."""
    return now_iso()[:-4] + "Z"


def env_key(rg: str, name: str) -> str:
    return f"{rg.lower()}/{name.lower()}"


def key_from_arm_id(arm_id: str) -> str:
    """The env key of an MLC ARM id (any casing of 'resourceGroups')."""
    parts = arm_id.strip("/").split("/")
    if len(parts) < 8 or parts[2].lower() != "resourcegroups":
        raise bad_request(f"Invalid compute resource id {arm_id!r}.")
    return env_key(parts[3], parts[-1])


def env_dir(engine: Engine, key: str) -> Path:
    # Not in Paths yet (see report): environments/<rg>/<name>.
    return engine.paths.environments / key


def load(engine: Engine, key: str) -> dict[str, Any] | None:
    row = engine.db.one("SELECT doc FROM environments WHERE key = ?", (key,))
    return json.loads(row[0]) if row else None


def set_props(engine: Engine, key: str, **props: Any) -> None:
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM environments WHERE key = ?", (key,)).fetchone()
        if row is None:
            return
        doc = json.loads(row[0])
        doc["properties"].update(props, modifiedOn=arm_time())
        conn.execute("UPDATE environments SET doc = ? WHERE key = ?", (json.dumps(doc), key))
