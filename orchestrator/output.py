"""The only module that writes to the terminal (convention 14).

Human mode prints progress lines to stdout as they happen and errors to stderr. JSON mode keeps stdout
for exactly one envelope, `{"version": 1, "command", "status", "data", "messages", "errors",
"exitCode"}` (pinned by tests/orchestrator/test_output.py); progress lines then go to stderr.

Output is not the work: when a reader goes away (`mlops update-service ... | head -1`, a pager quit
early), the broken stream is pointed at /dev/null and the command carries on to its real exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Final, TextIO

from orchestrator.result import Outcome

ENVELOPE_VERSION: Final = 1


def _silence(stream: TextIO) -> None:
    """Point a broken stream's file descriptor at /dev/null, so the interpreter's final flush succeeds too."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # an in-memory stream: nothing will flush it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Output:
    """Collects messages for the envelope and prints them in human mode."""

    def __init__(
        self, mode: str = "text", stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.mode = mode
        self._stdout = stdout
        self._stderr = stderr
        self.messages: list[str] = []
        self._gone: set[int] = set()  # ids of streams whose reader went away

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def _progress_stream(self) -> TextIO:
        return self.stderr if self.json else self.stdout

    def _write(self, stream: TextIO, text: str) -> None:
        """Write and flush one block of lines; a reader that went away is ignored from then on."""
        if id(stream) in self._gone:
            return
        try:
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):  # EPIPE, or the stream was closed under us
            self._gone.add(id(stream))
            _silence(stream)

    def info(self, text: str) -> None:
        """A progress or result line (kept in the envelope's messages)."""
        self.messages.append(text)
        self._write(self._progress_stream(), text)

    def detail(self, text: str) -> None:
        """A line only humans need (not kept in the envelope)."""
        self._write(self._progress_stream(), text)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A simple aligned table (human mode only; JSON mode carries the rows in data)."""
        if self.json:
            return
        cells = [[("" if v is None else str(v)) for v in row] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        self._write(self.stdout, "\n".join(lines))

    def error(self, text: str) -> None:
        """One error message on stderr (human mode; JSON mode puts it in the envelope)."""
        if not self.json:
            self._write(self.stderr, f"error: {text}")

    def finish(self, outcome: Outcome) -> None:
        """Print the end of a command: errors (text) or the envelope (json)."""
        if self.json:
            self._write(self.stdout, json.dumps(envelope(outcome), indent=2, sort_keys=False))
            return
        for text in outcome.errors:
            self.error(text)


def envelope(outcome: Outcome) -> dict[str, Any]:
    """The versioned JSON document for --output json."""
    return {
        "version": ENVELOPE_VERSION,
        "command": outcome.command,
        "status": outcome.status,
        "data": dict(outcome.data),
        "messages": list(outcome.messages),
        "errors": list(outcome.errors),
        "exitCode": int(outcome.exit_code),
    }
