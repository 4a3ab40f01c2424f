"""HTTP calls from the CLI to a scoring replica (not the daemon): the scoring request and the swagger read."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from mlops_engine.cli.commands.sample import example_from_swagger


def replica_request(method: str, url: str, timeout: float, body: bytes | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request to a scoring replica: status, headers, body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request(method, parts.path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def swagger_example(url: str) -> Any:
    """definitions.ServiceInput.example of a service's swagger, or None when unavailable."""
    try:
        status, _, body = replica_request("GET", url, timeout=2)
        return example_from_swagger(json.loads(body)) if status == 200 else None
    except (OSError, ValueError):
        return None
