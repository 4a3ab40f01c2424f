"""Content-addressed artifact store: artifacts/sha256/<2 hex>/<64 hex>, written atomically, read-only."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Final, Protocol

from ...paths import Paths
from .files import atomic_file

URL_PREFIX: Final = "artifact://sha256/"
_HEX: Final = re.compile(r"^[0-9a-f]{64}$")
_CHUNK: Final = 1 << 20


class ByteStream(Protocol):
    def read(self, size: int, /) -> bytes: ...


class ArtifactStore:
    """Immutable blobs addressed by their sha256."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def path_for(self, digest: str) -> Path:
        if not _HEX.match(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.paths.artifacts / "sha256" / digest[:2] / digest

    def put_stream(self, stream: ByteStream, length: int) -> tuple[str, int]:
        """Copy `length` bytes into the store; return (sha256, size). EOFError if the stream ends early."""
        digest = hashlib.sha256()
        with atomic_file(self.paths.tmp, mode=0o400, prefix="artifact-") as out:
            remaining = length
            while remaining > 0:
                chunk = stream.read(min(_CHUNK, remaining))
                if not chunk:
                    raise EOFError(f"request body ended after {length - remaining} of {length} bytes")
                digest.update(chunk)
                out.write(chunk)
                remaining -= len(chunk)
            hexdigest = digest.hexdigest()
            out.commit(self.path_for(hexdigest))
        return hexdigest, length

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; return its artifact url."""
        digest = hashlib.sha256(data).hexdigest()
        with atomic_file(self.paths.tmp, mode=0o400, prefix="artifact-") as out:
            out.write(data)
            out.commit(self.path_for(digest))
        return URL_PREFIX + digest

    def resolve_url(self, url: str) -> Path:
        """The stored file of an `artifact://sha256/<hex>` url (ValueError if malformed or absent)."""
        if not url.startswith(URL_PREFIX):
            raise ValueError(f"unsupported artifact url {url!r}: expected {URL_PREFIX}<sha256>")
        path = self.path_for(url[len(URL_PREFIX) :])
        if not path.is_file():
            raise ValueError(f"artifact {url} is not in the store (upload it with POST /artifacts)")
        return path
