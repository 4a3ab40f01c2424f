"""The daemon's bearer token file, `daemon/token`: 64 lowercase hex characters, mode 0600.

Why this shape: the daemon writes the file and the CLI reads it, and a damaged file must give a sentence a
user can act on (which file, what is wrong, the command that fixes it), never a Python repr or a second
daemon started on the same home. Both sides read it through `read_token`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

TOKEN_CHARS: Final = 64
_TOKEN: Final = re.compile(rb"[0-9a-f]{64}")


class TokenFileError(Exception):
    """The token file exists but does not hold a token (`reason` says what it holds instead)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the daemon token file {path} is corrupt ({reason})")
        self.path = path
        self.reason = reason


def read_token(path: Path) -> str:
    """The token in `path`; FileNotFoundError when there is none, TokenFileError when it is damaged."""
    raw = path.read_bytes().strip()
    if _TOKEN.fullmatch(raw):
        return raw.decode("ascii")
    if not raw:
        raise TokenFileError(path, "it is empty")
    if len(raw) != TOKEN_CHARS:
        raise TokenFileError(path, f"{len(raw)} bytes instead of {TOKEN_CHARS} hexadecimal characters")
    raise TokenFileError(path, f"it holds characters other than the {TOKEN_CHARS} hexadecimal ones of a token")


def repair_hint(path: Path, pid: int | None) -> str:
    """What to do about a token the running daemon does not accept."""
    who = f" (pid {pid})" if pid else ""
    return (
        f"so this command cannot authenticate to the running local Model Management service{who}. Run "
        "`python -m mlops_engine daemon stop` (it stops the service by its process id when the token is "
        f"unusable), then run the command again: the service writes a new token to {path} when it starts."
    )
