"""How the few structured column values are encoded in state.db (the daemon's own format, not MMS JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..errors import ErrorDetail, ErrorInfo
from .records import Asset


def _object(text: str, what: str) -> dict[str, object]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"stored {what} is not a JSON object: {text[:80]!r}")
    return value


def encode_strings(values: tuple[str, ...]) -> str:
    return json.dumps(list(values))


def decode_strings(text: str) -> tuple[str, ...]:
    if text == "[]":  # the common case, on the path of 10,000-model lists
        return ()
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"stored list is not a list of strings: {text[:80]!r}")
    return tuple(value)


def encode_tags(tags: Mapping[str, str]) -> str:
    return json.dumps(dict(tags))


def decode_tags(text: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _object(text, "tags").items()}


def encode_assets(assets: tuple[Asset, ...]) -> str:
    return json.dumps(
        [{"id": a.id, "url": a.url, "mime_type": a.mime_type, "unpack": a.unpack} for a in assets]
    )


def decode_assets(text: str) -> tuple[Asset, ...]:
    out = []
    for item in json.loads(text):
        mime, unpack = item["mime_type"], item["unpack"]
        out.append(
            Asset(
                id=str(item["id"]),
                url=str(item["url"]),
                mime_type=None if mime is None else str(mime),
                unpack=None if unpack is None else bool(unpack),
            )
        )
    return tuple(out)


def encode_error(error: ErrorInfo | None) -> str | None:
    if error is None:
        return None
    details = [{"code": d.code, "message": d.message} for d in error.details]
    return json.dumps(
        {"status": error.status, "code": error.code, "message": error.message, "details": details}
    )


def decode_error(text: str | None) -> ErrorInfo | None:
    if text is None:
        return None
    data = _object(text, "error")
    details = data.get("details")
    status = data.get("status")
    return ErrorInfo(
        status=status if isinstance(status, int) else 500,
        code=str(data.get("code")),
        message=str(data.get("message")),
        details=tuple(
            ErrorDetail(str(d.get("code")), str(d.get("message")))
            for d in (details if isinstance(details, list) else [])
            if isinstance(d, dict)
        ),
    )
