"""Content-addressed artifact store: artifacts/sha256/<2 hex>/<64 hex>, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO

from ..paths import Paths

URL_PREFIX = "artifact://sha256/"
_HEX = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class ArtifactStore:
    """Immutable blobs addressed by their sha256."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def path_for(self, digest: str) -> Path:
        if not _HEX.match(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.paths.artifacts / "sha256" / digest[:2] / digest

    def put_stream(self, stream: IO[bytes], length: int) -> tuple[str, int]:
        """Copy `length` bytes into the store (tmp file, fsync, os.replace); return (sha256, size)."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix="artifact-", dir=self.paths.tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = length
                while remaining > 0:
                    chunk = stream.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise EOFError(f"request body ended after {length - remaining} of {length} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                    remaining -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
            hexdigest = digest.hexdigest()
            final = self.path_for(hexdigest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, final)
            return hexdigest, length
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def resolve_url(self, url: str) -> Path:
        """The stored file of an `artifact://sha256/<hex>` url (ValueError if malformed or absent)."""
        if not url.startswith(URL_PREFIX):
            raise ValueError(f"unsupported artifact url {url!r}: expected {URL_PREFIX}<sha256>")
        path = self.path_for(url[len(URL_PREFIX) :])
        if not path.is_file():
            raise ValueError(f"artifact {url} is not in the store (upload it with POST /artifacts)")
        return path
