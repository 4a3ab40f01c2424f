"""Request handling of a scoring replica: routing, key check, input conversion, run(), result encoding.

Why this shape: the HTTP protocol (protocol.py) knows nothing about scoring and this module knows
nothing about sockets, so each can be tested and tuned alone. Everything constant (paths, health and
swagger bodies, error bodies of fixed text, the `Bearer <key>` byte strings) is encoded once; a request
costs a few dict/bytes comparisons plus the user's run().
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Sequence
from typing import Final

from .bundle import RunFunction
from .schema import InputConverter, InputError, Schema, UnsupportedInput
from .swagger import build_swagger, route_prefix

log = logging.getLogger(__name__)

JSON_CT: Final = b"application/json"


class Result:
    """What the protocol writes back: status, body, extra header lines (each ending in CRLF), log route."""

    __slots__ = ("body", "headers", "route", "status")

    def __init__(self, status: int, body: bytes, headers: bytes = b"", route: str = "unknown") -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.route = route


def error_body(status: int, message: str) -> bytes:
    return json.dumps({"errorCode": status, "message": message}).encode()


def _json_default(obj: object) -> object:
    # numpy scalars and arrays, pandas Series: all have tolist(); numpy scalars tolist() -> Python scalar
    tolist = getattr(obj, "tolist", None)
    if tolist is not None:
        return tolist()
    item = getattr(obj, "item", None)
    if item is not None:
        return item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_encode = json.JSONEncoder(default=_json_default).encode
_is_json = json.JSONDecoder().decode


def _body(value: object) -> bytes:
    """run()'s value as the response body.

    A str that is already JSON (the tutorials' `return json.dumps(...)`, the churn lab's `"0"`) is sent as
    it is; the legacy service encoded it a second time, so curl saw `"\\"0\\""` while the CLI printed `"0"`.
    Any other value is JSON-encoded.
    """
    if isinstance(value, str):
        try:
            _is_json(value)
            return value.encode()
        except ValueError:
            pass
    return _encode(value).encode()


class App:
    """Routes one parsed request to health, swagger or score."""

    def __init__(
        self,
        run: RunFunction,
        schema: Schema | None,
        records: bool,
        service_name: str,
        mode: str,
        keys: Sequence[str] | None = None,
    ) -> None:
        self._run = run
        self._converter = InputConverter(schema, records) if schema is not None else None
        prefix = route_prefix(mode, service_name).encode()
        self.score_path = prefix + b"/score"
        self.health_paths = {b"/", prefix + b"/", prefix} - {b""}
        self.swagger_paths = {b"/swagger.json", prefix + b"/swagger.json"}
        self._health = Result(200, json.dumps("Healthy").encode(), route="health")
        swagger = json.dumps(build_swagger(service_name, mode, schema)).encode()
        self._swagger = Result(200, swagger, route="swagger")
        self._not_found = Result(404, error_body(404, "Not Found"))
        self._cluster = mode == "cluster"
        self._keys: tuple[bytes, ...] = ()
        self.set_keys(keys)

    def set_keys(self, keys: Sequence[str] | None) -> None:
        """Cluster mode: the accepted `Authorization` header values (primary, secondary)."""
        self._keys = tuple(b"Bearer " + k.encode() for k in (keys or []) if k)

    def handle(self, method: bytes, path: bytes, auth: bytes | None, body: bytes) -> Result:
        if path == self.score_path:
            if method != b"POST":
                return _method_not_allowed(b"POST", "score")
            if self._cluster and not self._authorized(auth):
                return Result(
                    401,
                    error_body(401, "Unauthorized: send the service key as 'Authorization: Bearer <key>'."),
                    b"WWW-Authenticate: Bearer\r\n",
                    "score",
                )
            return self._score(body)
        if path in self.health_paths:
            return self._health if method == b"GET" else _method_not_allowed(b"GET", "health")
        if path in self.swagger_paths:
            return self._swagger if method == b"GET" else _method_not_allowed(b"GET", "swagger")
        return self._not_found

    def _authorized(self, auth: bytes | None) -> bool:
        if not auth or not self._keys:
            return False
        if auth[:7].lower() == b"bearer ":
            auth = b"Bearer " + auth[7:].strip()
        ok = False
        for expected in self._keys:  # compare against every key: constant time whichever one matches
            ok |= hmac.compare_digest(auth, expected)
        return ok

    def _score(self, body: bytes) -> Result:
        try:
            if self._converter is not None:
                kwargs = self._converter.convert(body)
                t0 = time.perf_counter()
                value = self._run(**kwargs)
            else:
                text = body.decode("utf-8", "replace")
                t0 = time.perf_counter()
                value = self._run(text)
            exec_ms = (time.perf_counter() - t0) * 1000.0
        except InputError as exc:
            return Result(400, error_body(400, str(exc)), route="score")
        except UnsupportedInput as exc:
            return Result(500, error_body(500, str(exc)), route="score")
        except Exception as exc:
            log.exception("run() raised")
            return Result(
                500,
                error_body(500, f"{type(exc).__name__}: {exc}"),
                b"x-ms-run-function-failed: True\r\n",
                "score",
            )
        try:
            out = _body(value)
        except (TypeError, ValueError, OverflowError) as exc:
            log.error("run() returned a value that cannot be encoded as JSON: %s", exc)
            return Result(
                500,
                error_body(500, f"run() returned a value that is not JSON serializable: {exc}"),
                route="score",
            )
        return Result(200, out, b"x-ms-run-fn-exec-ms: %.3f\r\n" % exec_ms, "score")


def _method_not_allowed(allow: bytes, route: str) -> Result:
    return Result(405, error_body(405, "Method Not Allowed"), b"Allow: " + allow + b"\r\n", route)
