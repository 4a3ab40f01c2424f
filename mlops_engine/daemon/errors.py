"""The daemon's one error type and the one function that renders an error body (docs/engine-api.md §2).

`ErrorInfo` is an error as MMS reports it (status, code, message, optional details); it is what failed
operations, images and services keep. `ApiError` raises one: route handlers and workers raise it, the
HTTP layer answers it with `render_error`, the operation runner stores its `info`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an error's `details` list."""

    code: str
    message: str


@dataclass(frozen=True)
class ErrorInfo:
    """An error: HTTP status, MMS code, message for the user and optional details."""

    status: int
    code: str
    message: str
    details: tuple[ErrorDetail, ...] = ()


class ApiError(Exception):
    """An `ErrorInfo` raised: answered to the client, or stored as a failed operation's error."""

    def __init__(self, status: int, code: str, message: str, details: Iterable[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.info = ErrorInfo(status, code, message, tuple(details))

    @classmethod
    def of(cls, info: ErrorInfo) -> ApiError:
        return cls(info.status, info.code, info.message, info.details)

    @property
    def status(self) -> int:
        return self.info.status

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def message(self) -> str:
        return self.info.message


def render_error(info: ErrorInfo) -> bytes:
    """The body of every error response: `{"code", "statusCode", "message"}` in that order, json.dumps spacing."""
    return json.dumps({"code": info.code, "statusCode": info.status, "message": info.message}).encode()


def not_found(kind: str) -> ApiError:
    """404 with the MMS wording, e.g. "Image not found"."""
    return ApiError(404, "NotFound", f"{kind} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "Conflict", message)


def internal_error(message: str, detail_code: str, detail: str) -> ErrorInfo:
    """The 500 error a failed operation records when the daemon itself broke (crash, restart)."""
    return ErrorInfo(500, "InternalServerError", message, (ErrorDetail(detail_code, detail),))
