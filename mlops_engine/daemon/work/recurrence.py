"""When a schedule runs: Azure ML's ScheduleRecurrence (frequency Minute|Hour|Day|Week|Month, interval, start
time), except that a schedule never runs at creation unless asked (Azure ML's first run is immediate when no
start time is given, its users' complaint): without a start time the first run is one interval after creation,
with one the runs are start + k x interval, and the next run is always strictly in the future.

`minute_s` is the length of a schedule minute in seconds: 60, except in tests (MLOPS_SCHEDULE_MINUTE_S), where
a shorter minute lets a bounded test see a schedule run twice; months are calendar months only at 60.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime, timedelta
from typing import Final

from ..errors import bad_request
from ..store.batch_records import FREQUENCIES, Frequency, Recurrence

_MINUTES: Final = {"Minute": 1, "Hour": 60, "Day": 1440, "Week": 10080, "Month": 43200}
_ALIASES: Final = {
    "minutely": "Minute",
    "hourly": "Hour",
    "daily": "Day",
    "weekly": "Week",
    "monthly": "Month",
}


def parse_frequency(text: str) -> Frequency:
    for f in FREQUENCIES:
        if text.strip().lower() == f.lower():
            return f
    hint = f" (did you mean {_ALIASES[text.strip().lower()]}?)" if text.strip().lower() in _ALIASES else ""
    raise bad_request(f"Invalid frequency '{text}': use one of {', '.join(FREQUENCIES)}{hint}.")


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())  # Python 3.11 reads a trailing Z
    except ValueError:
        raise bad_request(f"Invalid start time '{text}': use ISO-8601, e.g. 2026-01-31T06:00:00Z.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check(recurrence: Recurrence) -> None:
    if recurrence.interval < 1 or recurrence.interval > 1000:
        raise bad_request(f"Invalid interval {recurrence.interval}: use a whole number from 1 to 1000.")
    if recurrence.start_time is not None:
        parse_time(recurrence.start_time)


def _add_months(value: datetime, months: int) -> datetime:
    total = value.month - 1 + months
    year, month = value.year + total // 12, total % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1]))


def next_run(recurrence: Recurrence, created: datetime, after: datetime, minute_s: float = 60.0) -> datetime:
    """The first run strictly after `after` (never at creation: see the module docstring)."""
    anchor = parse_time(recurrence.start_time) if recurrence.start_time else created
    first = 0 if recurrence.start_time else 1
    if recurrence.frequency == "Month" and minute_s == 60.0:
        k = first
        while (when := _add_months(anchor, k * recurrence.interval)) <= after:
            k += 1
        return when
    period = timedelta(seconds=recurrence.interval * _MINUTES[recurrence.frequency] * minute_s)
    if after < anchor + first * period:
        return anchor + first * period
    k = max(first, math.floor((after - anchor) / period) + 1)
    when = anchor + k * period
    return when if when > after else when + period
