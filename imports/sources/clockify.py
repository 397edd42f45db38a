"""Clockify's detailed report CSV (Reports → Detailed → Export → Save as CSV).

Columns read: ``Project``, ``Client`` (older exports have none), ``Description``, ``Task``
(``Activity`` in some workspaces), ``Email``, ``Tags``, ``Billable``, ``Start Date``,
``Start Time``, ``End Date``, ``End Time``, ``Duration (h)``. Dates follow the exporter's
profile format: the request's ``date_format``, else detected from the file when its dates
fit exactly one format (a day after the 12th decides DD/MM against MM/DD), else one error
row asking for ``date_format``. Times are 24-hour or 12-hour (``09:00 AM``), in the import's
zone (values.py: the DST rule; ``Duration (h)`` settles an end in the repeated hour)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from imports.sources.base import EntryRow, Item, ParseOptions, RowError
from imports.sources.values import (
    DETECTABLE_DATE_FORMATS,
    BadValue,
    csv_rows,
    local_span,
    parse_bool,
    parse_date,
    parse_hours,
    parse_time,
    span_error,
    split_tags,
    strptime_format,
)

# The column the pipeline's own error rows name (overlaps, locked periods, unknown people).
FIELDS = {
    "email": "Email",
    "started_at": "Start Date",
    "ended_at": "End Date",
    "duration": "Duration (h)",
    "project": "Project",
}
WHERE = "Clockify: Profile settings → Date format"
REQUIRED = ("Email", "Start Date", "Start Time", "End Date", "End Time")


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    if options.date_format:
        try:
            name, fmt = options.date_format, strptime_format(options.date_format)
        except BadValue as exc:
            yield RowError(row=1, field="date_format", detail=str(exc))
            return
    else:
        found = _detect(stream)
        if isinstance(found, RowError):
            yield found
            return
        name, fmt = found, strptime_format(found)
    for item in csv_rows(stream, REQUIRED):
        if isinstance(item, RowError):
            yield item
            continue
        number, row = item
        try:
            yield _entry(number, row, name, fmt, options)
        except _Bad as bad:
            yield bad.error


class _Bad(Exception):
    def __init__(self, row: int, field: str, detail: str) -> None:
        self.error = RowError(row=row, field=field, detail=detail)


def _entry(number: int, row: dict[str, str], name: str, fmt: str, options: ParseOptions) -> EntryRow | RowError:
    def read(field: str, reader: Callable[..., Any], *args: str) -> Any:
        try:
            return reader(row.get(field, ""), *args)
        except BadValue as exc:
            raise _Bad(number, field, str(exc) + (f" in the {name} format" if reader is parse_date else "")) from None

    email = row["Email"].strip().lower()
    if not email:
        raise _Bad(number, "Email", "no email")
    start = read("Start Date", parse_date, fmt), read("Start Time", parse_time)
    end = read("End Date", parse_date, fmt), read("End Time", parse_time)
    duration_field = "Duration (h)" if row.get("Duration (h)", "").strip() else None
    expected = read(duration_field, parse_hours) if duration_field else None
    started_at, ended_at = local_span(start, end, options.timezone, expected)
    error = span_error(number, duration_field or "End Time", started_at, ended_at)
    if error is not None:
        return error
    task = (row.get("Task") if "Task" in row else row.get("Activity", "")) or ""
    return EntryRow(
        row=number,
        email=email,
        started_at=started_at,
        ended_at=ended_at,
        timezone=options.timezone.key,
        description=row.get("Description", "").strip(),
        client=row.get("Client", "").strip() or None,
        project=row.get("Project", "").strip() or None,
        task_path=(task.strip(),) if task.strip() else (),
        billable=read("Billable", parse_bool),
        tags=split_tags(row.get("Tags", "")),
    )


def _detect(stream: BinaryIO) -> str | RowError:
    """The one date format every readable start and end date of the file fits, read in a
    first pass over the file (the stream is rewound for the second)."""
    if not stream.seekable():
        return RowError(row=1, field="date_format", detail=f"pass date_format ({WHERE})")
    origin = stream.tell()
    candidates = list(DETECTABLE_DATE_FORMATS)
    formats = {name: strptime_format(name) for name in candidates}
    seen = False
    rows = csv_rows(stream, REQUIRED)
    try:
        for item in rows:
            if isinstance(item, RowError):
                if item.row == 1:
                    return item
                break
            for field in ("Start Date", "End Date"):
                fitting = [name for name in candidates if _fits(item[1].get(field, ""), formats[name])]
                if fitting:  # a value no candidate reads is a bad date: the second pass names it
                    seen, candidates = True, fitting
            if len(candidates) == 1:
                break
    finally:
        rows.close()
        stream.seek(origin)
    if not seen or len(candidates) == 1:
        return candidates[0]  # with no readable date, every row is an error row whatever the format
    return RowError(
        row=1,
        field="Start Date",
        detail=f"the dates fit {' and '.join(candidates[:2])}: pass date_format ({WHERE})",
    )


def _fits(value: str, fmt: str) -> bool:
    try:
        parse_date(value, fmt)
    except BadValue:
        return False
    return True
