"""A full disk, said as such: which write failed, how much room is left, and what to do (issue 13, item 7).

Why this shape: the engine writes in three places (the artifact store's tmp/, image staging, state.db) and
each one failed differently when the disk filled up (a 500 that named only daemon.log, a connection blamed
for it, "not a valid tar.gz archive"). `is_full` recognises the condition whatever raised it and
`insufficient_storage` is the one 507 answer every path gives.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Final

from .errors import ApiError

FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_full(exc: BaseException) -> bool:
    """True for "no space left on device" / "disk quota exceeded", from a file write or from SQLite."""
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def free_bytes(path: Path) -> int:
    """Bytes this process may still write on the file system of `path` (root may use the reserved blocks)."""
    st = os.statvfs(path)
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return blocks * st.f_frsize


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def insufficient_storage(doing: str, home: Path | None, needed: int | None = None) -> ApiError:
    """507 InsufficientStorage: what was being written, the room left (and needed), the way out."""
    where = ""
    if home is not None:
        try:
            room = f"{_size(free_bytes(home))} free"
        except OSError:
            room = "free space unknown"
        need = f", {_size(needed)} needed" if needed is not None else ""
        where = f" ({room}{need} on the file system of {home})"
    return ApiError(
        507,
        "InsufficientStorage",
        f"No space left on device while {doing}{where}. Free some space there (or set MLOPS_HOME to a larger "
        "disk) and run the command again.",
    )
