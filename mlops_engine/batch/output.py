"""The append_row file, written in input order, and the job's log files (Azure ML's layout, a subset).

Mini-batches finish in any order; their output is held until every earlier mini-batch has been written or has
finally failed, then appended.  While the job runs the file is ``<name>.partial``; only a succeeded job renames it
to ``<name>``, so a cancelled or failed job's output is visibly partial and never mistaken for a complete one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

from mlops_engine.batch.errors import BatchInputError


class OrderedOutput:
    """Appends each mini-batch's bytes in index order, from ``start_index`` (a resumed job's checkpoint)."""

    def __init__(self, final_path: Path | None, start_index: int = 0, start_bytes: int = 0) -> None:
        self.final_path = final_path
        self.next_index = start_index
        self.bytes_written = start_bytes
        self._held: dict[int, tuple[bytes, bytes]] = {}
        self._file: IO[bytes] | None = None
        self._header_done = start_bytes > 0
        if final_path is not None:
            self.partial_path: Path | None = final_path.with_name(final_path.name + ".partial")
            final_path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.partial_path, "r+b" if start_bytes and self.partial_path.exists() else "wb")  # noqa: SIM115
            fh.truncate(start_bytes)  # anything after the checkpoint may be incomplete: redo it
            fh.seek(start_bytes)
            self._file = fh
        else:
            self.partial_path = None

    @staticmethod
    def check_free(final_path: Path) -> None:
        if final_path.exists():
            raise BatchInputError(
                f"output file {final_path} already exists; choose another output folder or remove the file"
            )

    def put(self, index: int, payload: bytes, header: bytes = b"") -> None:
        self._held[index] = (payload, header)
        self._drain()

    def skip(self, index: int) -> None:
        """A finally failed mini-batch: nothing of it is written."""
        self.put(index, b"")

    def _drain(self) -> None:
        while self.next_index in self._held:
            payload, header = self._held.pop(self.next_index)
            if self._file is not None:
                if header and not self._header_done:
                    self._file.write(header)
                    self.bytes_written += len(header)
                if payload:
                    self._header_done = True
                    self._file.write(payload)
                    self.bytes_written += len(payload)
            self.next_index += 1

    def sync(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def commit(self) -> Path | None:
        """Complete: rename ``<name>.partial`` to ``<name>``."""
        if self._file is None or self.partial_path is None or self.final_path is None:
            return None
        self.sync()
        self._file.close()
        self._file = None
        os.replace(self.partial_path, self.final_path)
        return self.final_path

    def abandon(self) -> Path | None:
        """Stop writing (cancel or failure): the partial file stays, marked by its name."""
        self._held.clear()
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None
        return self.partial_path


class JobLogs:
    """logs/job_progress_overview.txt, logs/job_result.txt, logs/user/error.txt and error/, logs/sys/node/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _append(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)

    @staticmethod
    def _now() -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S")

    def progress(self, line: str) -> None:
        self._append("job_progress_overview.txt", f"{self._now()} {line}\n")

    def attempt(self, worker: str, line: str) -> None:
        node, _, agent = worker.partition("/")
        self._append(f"sys/node/{node or '0'}/{agent or 'process000'}.txt", f"{self._now()} {line}\n")

    def error(self, worker: str, summary: str, traceback: str) -> None:
        node, _, agent = worker.partition("/")
        self._append("user/error.txt", f"{self._now()} {summary}\n")
        self._append(
            f"user/error/{node or '0'}/{agent or 'process000'}.txt", f"{self._now()} {summary}\n{traceback}\n"
        )

    def result(self, text: str) -> None:
        path = self.root / "job_result.txt"
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
