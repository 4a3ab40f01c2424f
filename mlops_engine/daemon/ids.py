"""Ids and timestamps of the daemon's resources, in the formats MMS and ARM use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def now_iso() -> str:
    """MMS timestamps: ISO-8601 UTC with 6-digit microseconds and a trailing Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def arm_time() -> str:
    """ARM (msrest) timestamps carry milliseconds, e.g. 2017-12-01T09:00:00.251Z (legacy reference 5.1)."""
    return now_iso()[:-4] + "Z"


def new_model_id() -> str:
    """Model ids are 32 lowercase hex digits."""
    return uuid.uuid4().hex


def new_guid() -> str:
    """Manifest, image and operation ids are uuid4 with dashes."""
    return str(uuid.uuid4())
