"""Per-invocation context handed to command handlers: paths, the daemon client, the current profile."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from mlops_engine.cli import profile
from mlops_engine.cli.client import Client
from mlops_engine.paths import Paths


@dataclass(frozen=True)
class Created:
    """A resource this invocation created (a failed one-step `service create` reports what it left behind)."""

    kind: Literal["model", "manifest", "image", "service"]
    id: str
    name: str
    failed: bool = False  # its build or start failed: the record stays, in state Failed


class Context:
    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or Paths.default()
        self._client: Client | None = None
        self.created: list[Created] = []
        self.plain = True  # no -o/--query: text commands print their genuine text (cli/printed.py)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.paths)
        return self._client

    def out(self, text: str = "", end: str = "\n") -> None:
        """Legacy handlers print progress lines with print(): these appear whatever -o is."""
        sys.stdout.write(text + end)
        if end != "\n":
            sys.stdout.flush()

    @cached_property
    def subscription(self) -> str:
        return str(self.client.call("GET", "/info")["subscriptionId"])

    def account(self) -> dict[str, Any]:
        return profile.require_account(self.paths)

    def mms(self, suffix: str = "") -> str:
        """MMS path of the current account (raises 'Model Management Account not set')."""
        return profile.mms_base(self.account()) + suffix

    def mms_url(self, suffix: str = "") -> str:
        return self.client.base_url + self.mms(suffix)

    def close(self) -> None:
        if self._client is not None and self._client._conn is not None:
            self._client._conn.close()
