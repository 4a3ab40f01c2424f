"""Pure parsers of the batch commands' output (the genuine batch text, legacy batch reference §3) and of the
engine's `pipeline` JSON. Malformed output raises `UnexpectedOutputError` naming the command."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from orchestrator.errors import UnexpectedOutputError

_SUBMITTED: Final = re.compile(r"^Job (\S+) submitted on service (\S+)\.$", re.MULTILINE)
_PROGRESS: Final = re.compile(
    r"^Progress: mini-batches (\d+)/(\d+)(?: \((\d+) failed\))?, rows ([\d,]+) done, ([\d,]+) failed$"
)


@dataclass(frozen=True)
class BatchServiceInfo:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class BatchJobInfo:
    """`service showjob batch`: the genuine lines, and the engine's (progress, output, reason, first error)."""

    service: str
    job: str
    state: str
    logs: str | None = None
    batches_done: int = 0
    batches_total: int = 0
    rows_done: int = 0
    rows_failed: int = 0
    output: str | None = None
    partial: bool = False
    reason: str = ""
    first_error: str = ""


@dataclass(frozen=True)
class PipelineInfo:
    id: str
    name: str
    service: str
    state: str
    endpoint: str


def _table_rows(text: str) -> list[list[str]]:
    """The data rows of the psql tables in `text` (header rows included, separators left out)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ")
    ]


def parse_service_show(command: str, text: str) -> BatchServiceInfo:
    rows = _table_rows(text)
    try:
        name = rows[1][0]
        scoring = next(i for i, row in enumerate(rows) if row[0] == "SCORING_URL")
        _, inputs, outputs, params = rows[scoring + 1]
    except (IndexError, StopIteration, ValueError):
        raise UnexpectedOutputError(command, "expected the NAME and SCORING_URL tables", text) from None

    def split(cell: str) -> tuple[str, ...]:
        return tuple(p for p in cell.split(", ") if p)

    return BatchServiceInfo(name, split(inputs), split(outputs), split(params))


def parse_service_created(command: str, text: str) -> str:
    rows = _table_rows(text)
    if not text.startswith("Success.") or len(rows) < 2:
        raise UnexpectedOutputError(command, "expected 'Success.' and the NAME table", text)
    return rows[1][0]


def parse_job_submitted(command: str, text: str, service: str) -> str:
    match = _SUBMITTED.search(text)
    if match is None or match.group(2) != service:
        raise UnexpectedOutputError(command, f"expected 'Job <name> submitted on service {service}.'", text)
    return match.group(1)


def parse_showjob(command: str, text: str) -> BatchJobInfo:
    fields: dict[str, str] = {}
    lines = text.splitlines()
    first_error: list[str] = []
    for index, line in enumerate(lines):
        if line == "First error:":
            first_error = [item.removeprefix("    ") for item in lines[index + 1 :]]
            break
        key, sep, value = line.partition(": ")
        if sep:
            fields[key] = value
    if not {"Name", "JobId", "State"} <= fields.keys():
        raise UnexpectedOutputError(command, "expected the Name, JobId and State lines", text)
    info = BatchJobInfo(
        fields["Name"],
        fields["JobId"],
        fields["State"],
        fields.get("Logs available at"),
        reason=fields.get("Reason", ""),
        first_error="\n".join(first_error),
    )
    progress = _PROGRESS.match("Progress: " + fields["Progress"]) if "Progress" in fields else None
    if progress:
        done, total, _failed, rows_done, rows_failed = progress.groups()
        info = BatchJobInfo(
            **{
                **info.__dict__,
                "batches_done": int(done),
                "batches_total": int(total),
                "rows_done": int(rows_done.replace(",", "")),
                "rows_failed": int(rows_failed.replace(",", "")),
            }
        )
    for key, partial in (("Output", False), ("Output (partial)", True)):
        if key in fields:
            info = BatchJobInfo(**{**info.__dict__, "output": fields[key], "partial": partial})
    return info


def parse_pipeline(command: str, text: str) -> PipelineInfo:
    try:
        data = json.loads(text)
        return PipelineInfo(
            str(data["Id"]),
            str(data["Name"]),
            str(data["WebService"]),
            str(data["State"]),
            str(data["Endpoint"]),
        )
    except (ValueError, KeyError, TypeError):
        raise UnexpectedOutputError(command, "expected a pipeline object", text) from None
