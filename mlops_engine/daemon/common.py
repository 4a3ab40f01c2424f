"""Shared pieces of the daemon: API errors, responses, ids and timestamps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    """An error answered to the client as `{"code", "statusCode", "message"}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"code": self.code, "statusCode": self.status, "message": self.message}).encode()


def not_found(kind: str) -> ApiError:
    """404 with the MMS wording, e.g. "Image not found"."""
    return ApiError(404, "NotFound", f"{kind} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


@dataclass
class Response:
    """What a route handler returns; `raw` is sent as is, otherwise `body` is JSON-encoded."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    after: Callable[[], None] | None = None  # run once the response has been sent

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


def now_iso() -> str:
    """ISO-8601 UTC with 6-digit microseconds and a trailing Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_id() -> str:
    return uuid.uuid4().hex


def guid() -> str:
    return str(uuid.uuid4())


def require_str(body: dict[str, Any], key: str) -> str:
    """A mandatory, non-empty string field of a request body (400 otherwise)."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Missing or invalid field '{key}': a non-empty string is required.")
    return value
