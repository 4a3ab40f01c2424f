"""A service's replica logs, merged in time order (GET .../services/{id}/logs)."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

_TS: Final = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)")


def _lines(path: Path) -> Iterator[tuple[str, int, str]]:
    """(timestamp, line number, text); untimestamped lines (tracebacks) keep the previous timestamp."""
    last = ""
    with open(path, errors="replace") as handle:
        for number, line in enumerate(handle):
            match = _TS.match(line)
            if match:
                last = match.group(1).replace(" ", "T").replace(",", ".")
            yield last, number, line.rstrip("\n")


def merged(log_dir: Path, max_lines: int, request_id: str | None = None) -> list[str]:
    """The last `max_lines` lines of every replica-*.log of `log_dir`, oldest first, optionally only those
    mentioning `request_id`."""
    files = sorted(log_dir.glob("replica-*.log"))
    lines = (text for _ts, _n, text in heapq.merge(*(_lines(f) for f in files), key=lambda t: t[0]))
    selected = [t for t in lines if not request_id or request_id in t]
    return selected[-max_lines:] if max_lines > 0 else []
