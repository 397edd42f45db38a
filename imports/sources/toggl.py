"""Toggl Track's detailed report, exported as CSV (Reports → Detailed → Export → CSV).

Columns: ``User``, ``Email``, ``Client``, ``Project``, ``Task``, ``Description``, ``Billable``
(Yes/No), ``Start date``, ``Start time``, ``End date``, ``End time`` (local times of the
exporting profile, no offset: read in ``options.timezone``), ``Duration`` (``HH:MM:SS``, hours
may pass 24), ``Tags`` (one field, comma separated) and ``Amount (CUR)`` (the header names
the currency; Stint computes amounts from rates, so it is not read). UTF-8 with a BOM.

The end is the start plus ``Duration`` (the time actually tracked, right across a DST change);
``End date``/``End time`` serve only when ``Duration`` is empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import BinaryIO
from zoneinfo import ZoneInfo

from imports.sources.base import EntryRow, Item, ParseOptions, RowError
from imports.sources.values import aware, csv_rows, span_error, split_tags

REQUIRED = ("Email", "Project", "Description", "Start date", "Start time")
# The columns the pipeline's error rows name (imports.sources.field_names).
FIELDS = {
    "email": "Email",
    "started_at": "Start date",
    "ended_at": "End date",
    "duration": "Duration",
    "project": "Project",
}


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    for read in csv_rows(stream, REQUIRED):
        if isinstance(read, RowError):
            yield read
            continue
        number, row = read
        yield _row(number, {name: value.strip() for name, value in row.items() if name}, options.timezone)


def _row(number: int, row: dict[str, str], tz: ZoneInfo) -> Item:
    def get(name: str) -> str:
        return row.get(name) or ""

    email = get("Email").lower()
    if not email:
        return RowError(row=number, field="Email", detail="No email: whose time is it?")
    try:
        started_at = _local(get("Start date"), get("Start time"), tz)
    except ValueError:
        return RowError(
            row=number, field="Start date", detail=f"Unreadable start: {get('Start date')!r} {get('Start time')!r}."
        )
    raw_duration = get("Duration")
    if raw_duration:
        try:
            ended_at = started_at + timedelta(seconds=_duration(raw_duration))
        except ValueError:
            return RowError(row=number, field="Duration", detail=f"Unreadable duration: {raw_duration!r} (HH:MM:SS).")
    else:
        try:
            ended_at = _local(get("End date"), get("End time"), tz)
        except ValueError:
            return RowError(
                row=number, field="End date", detail=f"Unreadable end: {get('End date')!r} {get('End time')!r}."
            )
    error = span_error(number, "Duration", started_at, ended_at)
    if error:
        return error
    task = get("Task")
    return EntryRow(
        row=number,
        email=email,
        started_at=started_at,
        ended_at=ended_at,
        timezone=tz.key,
        description=get("Description"),
        client=get("Client") or None,
        project=get("Project") or None,
        task_path=(task,) if task else (),
        billable=get("Billable").lower() in {"yes", "true", "1"},
        tags=split_tags(get("Tags")),
    )


@lru_cache(maxsize=1 << 16)  # an export's dates and start times repeat: parse each pair once
def _local(day: str, clock: str, tz: ZoneInfo) -> datetime:
    """A local date and time in ``tz``, read as every source reads one (values.aware)."""
    return aware(date.fromisoformat(day), time.fromisoformat(clock), tz)


def _duration(value: str) -> int:
    hours, minutes, seconds = value.split(":")
    if not (hours.isdigit() and minutes.isdigit() and seconds.isdigit()) or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(value)
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
