"""Harvest's detailed time report CSV (Reports → Detailed time → Export → CSV).

Harvest records hours per day, not start and end times: a person's rows of one day are laid
end to end from 09:00 in the import's zone, in file order (a 2 h row then a 1.5 h row: 09:00
to 11:00, 11:00 to 12:30), which keeps every day's and week's total exact. ``Hours`` takes a
decimal point or comma (``1,5``) or ``h:mm``. Harvest names people by first and last name
only: without an ``Email`` column (one may be added in a spreadsheet) a row's ``First Name``
and ``Last Name`` must be the full name of exactly one active member of the importing company
(``ParseOptions.emails_by_name``); a name nobody has, or two members share, is an error row. Rates,
amounts and currencies (``Euro - EUR``), ``Project Code``, invoiced and approved flags are
not imported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import BinaryIO

from imports.sources.base import EntryRow, Item, ParseOptions, RowError, person_key
from imports.sources.values import (
    BadValue,
    aware,
    csv_rows,
    duration_error,
    parse_bool,
    parse_date,
    parse_hours,
    strptime_format,
)

# The column the pipeline's own error rows name (overlaps, locked periods, unknown people).
FIELDS = {"email": "Email", "started_at": "Date", "ended_at": "Date", "duration": "Hours", "project": "Project"}
REQUIRED = ("Date", "Hours")
NAMES = ("First Name", "Last Name")
DAY_STARTS = time(9, 0)


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    try:
        name = options.date_format or "YYYY-MM-DD"
        fmt = strptime_format(name)
    except BadValue as exc:
        yield RowError(row=1, field="date_format", detail=str(exc))
        return
    # Where each person's next row of a day starts: one instant per person-day of the file.
    next_start: dict[tuple[str, date], datetime] = {}
    for item in csv_rows(stream, REQUIRED):
        if isinstance(item, RowError):
            yield item
            continue
        number, row = item
        if "Email" in row:
            email = row["Email"].strip().lower()
            if not email:
                yield RowError(row=number, field="Email", detail="no email")
                continue
        elif any(column in row for column in NAMES):
            found = _by_name(number, row, options)
            if isinstance(found, RowError):
                yield found
                continue
            email = found
        else:  # the header has neither: one error, as for a missing column
            yield RowError(row=1, field="Email", detail="the header has no Email column, nor First Name and Last Name")
            return
        try:
            day = parse_date(row["Date"], fmt)
        except BadValue as exc:
            yield RowError(row=number, field="Date", detail=f"{exc} in the {name} format")
            continue
        try:
            seconds = parse_hours(row["Hours"])
        except BadValue as exc:
            yield RowError(row=number, field="Hours", detail=str(exc))
            continue
        try:
            billable = parse_bool(row.get("Billable?", ""))
        except BadValue as exc:
            yield RowError(row=number, field="Billable?", detail=str(exc))
            continue
        error = duration_error(number, "Hours", seconds)
        if error is not None:
            yield error
            continue
        started_at = next_start.get((email, day)) or aware(day, DAY_STARTS, options.timezone)
        ended_at = started_at + timedelta(seconds=seconds)
        next_start[(email, day)] = ended_at
        task = row.get("Task", "").strip()
        yield EntryRow(
            row=number,
            email=email,
            started_at=started_at,
            ended_at=ended_at,
            timezone=options.timezone.key,
            description=row.get("Notes", "").strip(),
            client=row.get("Client", "").strip() or None,
            project=row.get("Project", "").strip() or None,
            task_path=(task,) if task else (),
            billable=billable,
        )


def _by_name(number: int, row: dict[str, str], options: ParseOptions) -> str | RowError:
    """The email of the one member whose full name is the row's first and last name."""
    name = " ".join(row.get(column, "").strip() for column in NAMES).strip()
    if not name:
        return RowError(row=number, field="First Name", detail="no name")
    key = person_key(name)
    if key not in options.emails_by_name:
        return RowError(
            row=number, field="First Name", detail=f"No member of this company is named {name!r}: add an Email column."
        )
    email = options.emails_by_name[key]
    if email is None:
        return RowError(
            row=number,
            field="First Name",
            detail=f"Several members of this company are named {name!r}: add an Email column to tell them apart.",
        )
    return email
