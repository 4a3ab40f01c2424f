"""Files of the engine home: the one atomic-write helper, read-only trees and the start-up clean-up of tmp/.

Every file the daemon publishes (token, daemon.json, artifacts) is written through `atomic_file`: a
temporary file in the home's tmp/ (same filesystem), flushed and fsync'ed, then renamed over the target,
so a reader never sees a partial file and a crash leaves only a temporary file that start-up removes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..jsonvalue import JSON


class PendingFile:
    """A temporary file being written; `commit(target)` publishes it, otherwise it is removed."""

    def __init__(self, stream: BinaryIO, tmp_path: str, mode: int) -> None:
        self.stream = stream
        self.tmp_path = tmp_path
        self.mode = mode
        self.committed = False

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def commit(self, target: Path) -> None:
        """flush, fsync, chmod, then atomically replace `target` (its directory is created if needed)."""
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.chmod(self.tmp_path, self.mode)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.tmp_path, target)
        self.committed = True


@contextmanager
def atomic_file(tmp_dir: Path, mode: int = 0o600, prefix: str = "write-") -> Iterator[PendingFile]:
    """A PendingFile in `tmp_dir`; removed on exit unless committed (also when the block raises)."""
    fd, tmp_path = tempfile.mkstemp(prefix=prefix, dir=tmp_dir)
    pending = PendingFile(os.fdopen(fd, "wb"), tmp_path, mode)
    try:
        yield pending
    finally:
        if not pending.committed:
            pending.stream.close()
            Path(tmp_path).unlink(missing_ok=True)


def write_atomic(target: Path, data: bytes, tmp_dir: Path, mode: int = 0o600) -> None:
    """Replace `target` with `data` atomically."""
    with atomic_file(tmp_dir, mode, prefix=f"{target.name}.") as out:
        out.write(data)
        out.commit(target)


def write_json_atomic(target: Path, data: JSON, tmp_dir: Path, mode: int = 0o600) -> None:
    write_atomic(target, json.dumps(data).encode(), tmp_dir, mode)


def freeze(root: Path) -> None:
    """Make a tree read-only: files 0444, directories 0555 (deepest first)."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o444)
        os.chmod(dirpath, 0o555)


def publish_tree(staging: Path, target: Path) -> None:
    """Make a staged tree read-only and rename it to `target` in one step (both in the home)."""
    freeze(staging)
    os.replace(staging, target)


def remove_tree(root: Path) -> None:
    """Remove a tree, read-only parts included; a missing tree is fine."""
    if not root.exists():
        return
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o700)
    shutil.rmtree(root, ignore_errors=True)


def clean_tmp(tmp_dir: Path) -> None:
    """Staging left by a crash (half-built images, partial uploads and writes) is discarded at start."""
    for entry in tmp_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
        else:
            entry.unlink(missing_ok=True)
