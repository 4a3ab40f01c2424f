"""Errors the CLI prints, in the two shapes the legacy CLI printed them (legacy reference 4.3).

* `CliError` -> `ERROR: ` + 4-space indented, key-sorted JSON of
  `{"Azure-cli-ml Version": ..., "Error": ..., "Response Code"?, "Response Content"?, "Response Headers"?}`.
* `HttpError` (a non-2xx answer from the Model Management service) -> the Python `repr` form that the
  genuine CLI printed under Python 3, because it kept the raw body as bytes:
  `ERROR: {'Azure-cli-ml Version': ..., 'Error': MlCliError({...})}`.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_engine import LEGACY_CLI_VERSION


class CliError(Exception):
    """A user-facing error; exit code 1."""

    def __init__(self, error: Any, **extra: Any) -> None:
        super().__init__(error if isinstance(error, str) else json.dumps(error if error is not None else extra))
        self.error = error
        self.extra = extra  # "Response Code", "Response Content", "Response Headers" (already keyed)
        self.hint: str | None = None  # the next step, printed after the legacy block on a terminal (cli/hints.py)

    def with_hint(self, hint: str | None) -> CliError:
        self.hint = hint
        return self

    def render(self) -> str:
        body = {"Azure-cli-ml Version": LEGACY_CLI_VERSION, **self.extra}
        if self.error is not None:  # ARM (MLC) errors carry only a code and a message
            body["Error"] = self.error
        return "ERROR: " + json.dumps(body, indent=4, sort_keys=True)


class _MlCliErrorRepr:
    """Renders as the legacy `MlCliError({...})` inside a dict repr."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __repr__(self) -> str:
        return f"MlCliError({self.fields!r})"


class HttpError(CliError):
    """A non-2xx answer from the daemon, printed as the legacy Python-3 repr."""

    def __init__(self, message: str, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = body

    def render(self) -> str:
        fields = {
            "Error": self.error,
            "Response Headers": self.headers,
            "Response Content": self.body,
            "Response Code": self.status,
        }
        return "ERROR: " + repr({"Azure-cli-ml Version": LEGACY_CLI_VERSION, "Error": _MlCliErrorRepr(fields)})


class UsageError(Exception):
    """An argparse-level error; exit code 2 (already printed)."""


class TableUnavailable(Exception):
    """The table transformer could not handle the result (legacy quirk 12.5)."""
