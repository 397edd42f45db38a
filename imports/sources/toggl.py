"""Toggl Track's detailed report, exported as CSV (Reports → Detailed → Export → CSV).

Columns: ``User``, ``Email``, ``Client``, ``Project``, ``Task``, ``Description``, ``Billable``
(Yes/No), ``Start date``, ``Start time``, ``End date``, ``End time`` (local times of the
exporting profile, no offset: read in ``options.timezone``), ``Duration`` (``HH:MM:SS``, hours
may pass 24), ``Tags`` (one field, comma separated) and ``Amount (CUR)`` (the header names
the currency; Stint computes amounts from rates, so it is not read). UTF-8 with a BOM.

The end is the start plus ``Duration`` (the time actually tracked, right across a DST change);
``End date``/``End time`` serve only when ``Duration`` is empty."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from imports.sources.base import MAX_ENTRY_SECONDS, EntryRow, Item, ParseOptions, RowError

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
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        yield RowError(row=1, field="", detail="The file is empty.")
        return
    columns = {name.strip(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        yield RowError(row=1, field=missing[0], detail=f"Not a Toggl detailed CSV: no {', '.join(missing)} column.")
        return
    tz = options.timezone
    tz_name = str(tz.key) if hasattr(tz, "key") else "UTC"
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # a blank line (spreadsheets add them at the end)

        def get(name: str, values: list[str] = values) -> str:
            index = columns.get(name)
            return values[index].strip() if index is not None and index < len(values) else ""

        yield _row(number, get, tz, tz_name)


def _row(number: int, get, tz: ZoneInfo, tz_name: str) -> Item:
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
            seconds = _duration(raw_duration)
        except ValueError:
            return RowError(row=number, field="Duration", detail=f"Unreadable duration: {raw_duration!r} (HH:MM:SS).")
        ended_at = started_at + timedelta(seconds=seconds)
    else:
        try:
            ended_at = _local(get("End date"), get("End time"), tz)
        except ValueError:
            return RowError(
                row=number, field="End date", detail=f"Unreadable end: {get('End date')!r} {get('End time')!r}."
            )
        seconds = int((ended_at - started_at).total_seconds())
    if seconds <= 0:
        return RowError(row=number, field="Duration", detail="The entry must last at least a second.")
    if seconds > MAX_ENTRY_SECONDS:
        return RowError(row=number, field="Duration", detail=f"{raw_duration or seconds} is longer than 7 days.")
    tags = tuple(t.strip() for t in get("Tags").split(",") if t.strip())
    task = get("Task")
    return EntryRow(
        row=number,
        email=email,
        started_at=started_at,
        ended_at=ended_at,
        timezone=tz_name,
        description=get("Description"),
        client=get("Client") or None,
        project=get("Project") or None,
        task_path=(task,) if task else (),
        billable=get("Billable").lower() in {"yes", "true", "1"},
        tags=tags,
    )


def _local(day: str, clock: str, tz: ZoneInfo) -> datetime:
    """A local date and time in ``tz``: an ambiguous one (the repeated hour when clocks go
    back) is its first occurrence, one in the skipped hour is read with the offset before
    the change (zoneinfo's fold=0), as the reports read local times."""
    local = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock))
    return local.replace(tzinfo=tz).astimezone(UTC)


def _duration(value: str) -> int:
    hours, minutes, seconds = value.split(":")
    if not (hours.isdigit() and minutes.isdigit() and seconds.isdigit()) or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(value)
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
