"""Inputs and their mini-batches: a deterministic plan that every executor and process count shares.

Tabular inputs (CSV files with a header row) are cut into byte ranges of whole records, about
``mini_batch_size`` bytes each, never across files (Azure ML's TabularDataset rule); file inputs are cut into
groups of ``mini_batch_size`` files.  The plan depends only on the input bytes and the size, so the output,
concatenated in mini-batch order, is the same whatever runs it.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import unquote, urlparse

from mlops_engine.batch.errors import BatchInputError
from mlops_engine.batch.settings import ParallelRunSettings

InputKind = Literal["tabular", "files"]
TABULAR_SUFFIXES: Final = (".csv",)
_EMPTY_LINE = re.compile(rb"(?m)^\r?\n")
_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


@dataclass(frozen=True)
class InputFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class MiniBatch:
    """One unit of work: a byte range of whole CSV records, or a group of files."""

    index: int
    kind: InputKind
    items: int  # rows (tabular) or files; what error_threshold counts
    path: str = ""
    start: int = 0
    end: int = 0
    columns: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "files":
            return f"mini-batch {self.index} ({self.items} files from {self.files[0]})"
        return f"mini-batch {self.index} ({self.path} bytes {self.start}-{self.end}, {self.items} rows)"


@dataclass(frozen=True)
class BatchPlan:
    kind: InputKind
    inputs: tuple[InputFile, ...]
    batches: tuple[MiniBatch, ...]
    batch_size: int

    @property
    def total_items(self) -> int:
        return sum(b.items for b in self.batches)

    def fingerprint(self) -> str:
        return InputSet(self.kind, self.inputs, self.batch_size).fingerprint()


def local_path(value: str) -> Path:
    """A local path or a ``file://`` URI -> an absolute path (``~`` expanded)."""
    if value.startswith("file:"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise BatchInputError(f"{value}: only file:// URIs of this machine are supported")
        return Path(unquote(parsed.path)).resolve()
    return Path(value).expanduser().resolve()


def resolve_inputs(values: tuple[str, ...] | list[str]) -> list[Path]:
    """Every input file, in order: explicit files as given, a folder's files sorted by relative path."""
    if not values:
        raise BatchInputError("no input given; name at least one file or folder")
    found: list[Path] = []
    for value in values:
        path = local_path(str(value))
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise BatchInputError(f"input folder {path} has no files")
            found.extend(files)
        elif path.is_file():
            if not os.access(path, os.R_OK):
                raise BatchInputError(f"input {path} is not readable")
            found.append(path)
        else:
            raise BatchInputError(f"input {path} does not exist or is not accessible")
    return found


def detect_kind(files: list[Path]) -> InputKind:
    return "tabular" if all(p.suffix.lower() in TABULAR_SUFFIXES for p in files) else "files"


@dataclass(frozen=True)
class InputSet:
    """The resolved inputs of a job, checked but not yet cut into mini-batches (cheap: done at submit)."""

    kind: InputKind
    inputs: tuple[InputFile, ...]
    batch_size: int  # files per mini-batch, or bytes

    def fingerprint(self) -> str:
        """Changes when any input file, the kind or the mini-batch size changes (resume refuses then)."""
        doc = [self.kind, self.batch_size, [[f.path, f.size, f.mtime_ns] for f in self.inputs]]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def resolve_input_set(
    values: tuple[str, ...] | list[str], settings: ParallelRunSettings, kind: str = "auto"
) -> InputSet:
    """Every input exists and is readable, the kind is known, and each CSV starts with a header row."""
    files = resolve_inputs(values)
    if kind not in ("auto", "tabular", "files"):
        raise BatchInputError(f"input kind must be auto, tabular or files, got {kind!r}")
    chosen: InputKind = detect_kind(files) if kind == "auto" else kind  # type: ignore[assignment]
    inputs = tuple(_stat(p) for p in files)
    if chosen == "files":
        return InputSet("files", inputs, settings.files_per_batch())
    for path in files:
        _check_header(path)
    return InputSet("tabular", inputs, settings.tabular_batch_bytes())


def plan_batches(input_set: InputSet) -> BatchPlan:
    """Cut the inputs into mini-batches (reads every tabular input once)."""
    size = input_set.batch_size
    if input_set.kind == "files":
        names = [f.path for f in input_set.inputs]
        batches = tuple(
            MiniBatch(index=i, kind="files", items=len(group), files=tuple(group))
            for i, group in enumerate(names[k : k + size] for k in range(0, len(names), size))
        )
        return BatchPlan("files", input_set.inputs, batches, size)
    out: list[MiniBatch] = []
    for f in input_set.inputs:
        out.extend(_plan_csv(Path(f.path), size, len(out)))
    return BatchPlan("tabular", input_set.inputs, tuple(out), size)


def make_plan(
    values: tuple[str, ...] | list[str], settings: ParallelRunSettings, kind: str = "auto"
) -> BatchPlan:
    return plan_batches(resolve_input_set(values, settings, kind))


def _parse_header(path: Path, first_line: bytes) -> tuple[str, ...]:
    text = first_line.decode("utf-8-sig", errors="replace")
    try:
        columns = tuple(next(csv.reader(io.StringIO(text))))
    except (StopIteration, csv.Error) as exc:
        raise BatchInputError(f"input {path}: cannot read the header row: {exc}") from None
    if not columns or not any(c.strip() for c in columns):
        raise BatchInputError(f"input {path}: the first line must be a header row naming the columns")
    return columns


def _check_header(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head:
        raise BatchInputError(f"input {path} is empty; a CSV input needs a header row")
    _parse_header(path, head.split(b"\n", 1)[0])


def _stat(path: Path) -> InputFile:
    st = path.stat()
    return InputFile(str(path), st.st_size, st.st_mtime_ns)


def _count_rows(chunk: bytes, blank: bytes = b"\n\n") -> int:
    """Non-empty lines (pandas skips empty ones); exact for unquoted CSV, the worker's count wins otherwise.

    ``blank`` is what an empty line looks like in this file (``\r\n\r\n`` for CRLF files): one fast search
    rules empty lines out in the usual case, so the regex pass is only paid when there are some."""
    if not chunk:
        return 0
    lines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
    if blank not in chunk and not chunk.startswith((b"\n", b"\r\n")):
        return lines
    return lines - len(_EMPTY_LINE.findall(chunk))


def _plan_csv(path: Path, target: int, first_index: int) -> list[MiniBatch]:
    size = path.stat().st_size
    if size == 0:
        raise BatchInputError(f"input {path} is empty; a CSV input needs a header row")
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        quoted = mm.find(b'"') != -1
        ends = _quoted_record_ends(mm) if quoted else None
        header_end = _next_end(mm, 0, ends)
        columns = _parse_header(path, bytes(mm[0:header_end]))
        blank = b"\r\n\r\n" if mm[header_end - 2 : header_end] == b"\r\n" else b"\n\n"
        batches: list[MiniBatch] = []
        pos = header_end
        while pos < size:
            end = _next_end(mm, min(pos + target, size) - 1, ends)
            chunk = bytes(mm[pos:end])
            rows = _count_rows(chunk, blank) if ends is None else _count_quoted(ends, pos, end, chunk)
            if rows:
                batches.append(
                    MiniBatch(first_index + len(batches), "tabular", rows, str(path), pos, end, columns)
                )
            pos = end
        return batches


def _next_end(mm: mmap.mmap, at: int, ends: list[int] | None) -> int:
    """Offset just after the first record-ending newline at or after ``at`` (end of file if none)."""
    if ends is None:
        cut = mm.find(b"\n", max(at, 0))
        return len(mm) if cut == -1 else cut + 1
    i = bisect.bisect_left(ends, at + 1)
    return ends[i] if i < len(ends) else len(mm)


def _quoted_record_ends(mm: mmap.mmap) -> list[int]:
    """Offsets after each newline that is outside double quotes (RFC 4180: a quote inside is doubled)."""
    ends: list[int] = []
    inside = False
    for match in _QUOTE_OR_NEWLINE.finditer(mm):  # type: ignore[call-overload]
        if match.group() == b'"':
            inside = not inside
        elif not inside:
            ends.append(match.end())
    return ends


def _count_quoted(ends: list[int], start: int, end: int, chunk: bytes) -> int:
    records = bisect.bisect_right(ends, end) - bisect.bisect_right(ends, start)
    tail = 0 if chunk.endswith(b"\n") else 1
    return records + tail - len(_EMPTY_LINE.findall(chunk))
