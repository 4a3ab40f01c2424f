"""Typed reads of a request's JSON fields; a missing or mistyped field is a 400 that names it."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import bad_request
from ..jsonvalue import JSON, JSONObject


def req_str(body: JSONObject, key: str) -> str:
    """A mandatory, non-empty string field."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Missing or invalid field '{key}': a non-empty string is required.")
    return value


def opt_str(body: JSONObject, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string.")
    return value


def opt_bool(body: JSONObject, key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"'{key}' must be a boolean.")
    return value


def opt_int(body: JSONObject, key: str, minimum: int | None = None) -> int | None:
    """An optional integer (not a boolean), at least `minimum` if given."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise bad_request(f"'{key}' must be an integer{bound}.")
    return value


def opt_object(body: JSONObject, key: str) -> JSONObject | None:
    value = body.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise bad_request(f"'{key}' must be a JSON object.")
    return value


def as_object(value: JSON, what: str) -> JSONObject:
    if not isinstance(value, Mapping):
        raise bad_request(f"{what} must be a JSON object.")
    return value


def str_list(body: JSONObject, key: str, what: str | None = None) -> tuple[str, ...]:
    """An optional list of strings (absent or null = empty)."""
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"'{key}' must be a list of {what or 'strings'}.")
    return tuple(str(v) for v in value)


def str_map(body: JSONObject, key: str) -> dict[str, str]:
    """Tags: an optional JSON object of strings (absent or null = empty)."""
    value = body.get(key) or {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise bad_request(f"'{key}' must be a JSON object of strings.")
    return {k: str(v) for k, v in value.items()}
