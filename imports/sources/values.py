"""Reading the values every source shares: local times in a zone (the DST rule), profile date
formats, yes/no, decimal hours, the sanity checks on an entry's span, and streaming CSV and
JSON readers that turn a broken file into a ``RowError`` instead of an exception.

The DST rule (docs/imports.md): a local time without an offset is read in the import's zone
with ``fold=0``. An ambiguous time (the repeated hour when clocks go back) is its first
occurrence; a time that does not exist (the hour skipped when clocks go forward) is read with
the offset before the change, so 02:30 on a spring-forward night in Europe/Berlin is 03:30
CEST. When a row also gives its duration, the reading of its ambiguous ends that matches that
duration wins (``local_span``)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from imports.sources.base import MAX_ENTRY_SECONDS, RowError

# Clockify's profile date formats (and Harvest's ISO dates) as the request names them.
_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"))
DETECTABLE_DATE_FORMATS = (
    "YYYY-MM-DD", "MM/DD/YYYY", "DD/MM/YYYY", "DD.MM.YYYY", "MM.DD.YYYY", "DD-MM-YYYY", "MM-DD-YYYY", "YYYY/MM/DD",
)  # fmt: skip
# 24-hour (17:05, 17:05:09) or 12-hour (5:05 PM, 05:05:09 pm, 5:05 p.m.) times. A regular
# expression: strptime was half of a million-row file's parse time.
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AP])\.?\s*M\.?)?", re.IGNORECASE)
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n", ""}


class BadValue(ValueError):
    """A value a row cannot be read with; its message is the RowError's detail."""


def strptime_format(date_format: str) -> str:
    """``"DD/MM/YYYY"`` → ``"%d/%m/%Y"``; a format with no day, month and year is refused."""
    out = date_format.strip().upper()
    for token, directive in _TOKENS:
        out = out.replace(token, directive)
    if not all(d in out for d in ("%d", "%m")) or not ("%Y" in out or "%y" in out):
        raise BadValue(f"date_format {date_format!r} is not a day, month and year format such as DD/MM/YYYY.")
    return out


@lru_cache(maxsize=4096)  # a file's dates repeat: a year is 365 of them
def parse_date(value: str, fmt: str) -> date:
    try:
        return datetime.strptime(value.strip(), fmt).date()  # noqa: DTZ007  # a calendar day
    except ValueError:
        raise BadValue(f"{value!r} is not a date") from None


def parse_time(value: str) -> time:
    """24-hour (``17:05``, ``17:05:09``) or 12-hour (``5:05 PM``, ``05:05:09 pm``) times."""
    found = _TIME.fullmatch(value.strip())
    if found is not None:
        hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
        if found[4] is not None:
            if not 1 <= hour <= 12:
                raise BadValue(f"{value!r} is not a time")
            hour = hour % 12 + (12 if found[4].upper() == "P" else 0)  # 12 AM is midnight, 12 PM noon
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise BadValue(f"{value!r} is not a time")


def parse_bool(value: str) -> bool:
    text = value.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise BadValue(f"{value!r} is not yes or no")


def parse_hours(value: str) -> int:
    """Hours as seconds: ``1.5``, ``1,5`` (a decimal comma) or ``1:30`` / ``1:30:00``."""
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3) or any(p < 0 for p in parts[1:]):
                raise ValueError
            hours, minutes, seconds = (parts + [0])[:3]
            sign = -1 if text.startswith("-") else 1
            return hours * 3600 + sign * (minutes * 60 + seconds)
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        return round(float(text) * 3600)
    except ValueError:
        raise BadValue(f"{value!r} is not a number of hours") from None


def aware(day: date, at: time, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The instant a local day and time name in ``zone`` (the DST rule in the module doc), in
    UTC. Sources yield UTC instants: Python compares and subtracts two datetimes of the same
    zone by wall clock, ignoring fold (01:30 CEST to 02:30 CET would be one hour, not two)."""
    return datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def local_span(
    start: tuple[date, time], end: tuple[date, time], zone: ZoneInfo, expected_seconds: int | None = None
) -> tuple[datetime, datetime]:
    """Start and end instants; with the row's own duration, an ambiguous end (the hour clocks
    go back) is read the way that gives that duration, if one does."""
    first = aware(*start, zone), aware(*end, zone)
    if expected_seconds is None or _seconds(*first) == expected_seconds:
        return first
    for start_fold, end_fold in ((0, 1), (1, 1), (1, 0)):
        candidate = aware(*start, zone, start_fold), aware(*end, zone, end_fold)
        if _seconds(*candidate) == expected_seconds:
            return candidate
    return first


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def span_error(row: int, field: str, start: datetime, end: datetime) -> RowError | None:
    """An entry that ends before it starts, lasts nothing, or lasts longer than
    MAX_ENTRY_SECONDS is not imported (an absurd duration: solidtime#461's -2000 h)."""
    seconds = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    if seconds < 0:
        return RowError(row=row, field=field, detail=f"ends before it starts ({start.isoformat()}, {end.isoformat()})")
    if seconds == 0:
        return RowError(row=row, field=field, detail="lasts no time")
    if seconds > MAX_ENTRY_SECONDS:
        return RowError(
            row=row, field=field, detail=f"lasts {seconds / 3600:.1f} h, more than {MAX_ENTRY_SECONDS // 3600} h"
        )
    return None


def duration_error(row: int, field: str, seconds: int) -> RowError | None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    return span_error(row, field, start, start + timedelta(seconds=seconds))


def split_tags(value: str) -> tuple[str, ...]:
    return tuple(tag for tag in (part.strip() for part in value.split(",")) if tag)


# --------------------------------------------------------------------------- CSV


def csv_rows(stream: BinaryIO, required: Iterable[str] = ()) -> Generator[tuple[int, dict[str, str]] | RowError]:
    """A CSV's data rows as ``(row number, {column: value})`` (the header is row 1), a
    record at a time. A header without a ``required`` column is one RowError (row 1) and
    nothing else; a file that stops being UTF-8 or CSV ends with one RowError there. Commas
    or semicolons (a spreadsheet saving CSV in a decimal-comma locale), as the header has."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    number = 1
    try:
        first = text.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        missing = [column for column in required if column not in header]
        if missing:
            yield RowError(row=1, field=missing[0], detail=f"the header has no {', '.join(missing)} column")
            return
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue  # a blank line (spreadsheets leave them at the end)
            yield number, dict(zip(header, values, strict=False))
    except UnicodeDecodeError:
        yield RowError(row=number + 1, field="", detail="the file is not UTF-8 text from here on; export it as UTF-8")
    except csv.Error as exc:
        yield RowError(row=number + 1, field="", detail=f"not readable as CSV: {exc}")
    finally:
        # The caller owns the stream; one that closed it first (a cancelled import, its
        # generator collected later) leaves nothing to detach from.
        with contextlib.suppress(ValueError):
            text.detach()


# --------------------------------------------------------------------------- JSON


@dataclass(frozen=True, slots=True)
class Opened:
    """json_items' value where a list or an object opens at one of its ``containers``."""

    kind: str  # "list" or "object"


def json_items(
    stream: BinaryIO,
    prefixes: set[str],
    scalars: frozenset[str] = frozenset(),
    containers: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, Any] | RowError]:
    """The objects found at ``prefixes`` (ijson paths, ``"entries.item"``) as ``(prefix,
    value)`` in file order, built one at a time (a big file never sits in memory), the
    scalars at ``scalars``, and ``(prefix, Opened)`` where a list or object at
    ``containers`` opens (an ``Opened``). Broken JSON ends with one RowError naming the next item."""
    import ijson  # type: ignore[import-untyped]  # no stubs

    items = 0
    builder: Any = None
    at = ""
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if builder is not None:
                builder.event(event, value)
                if prefix == at and event in ("end_map", "end_array"):
                    yield at, builder.value
                    builder = None
                continue
            if prefix in prefixes and event in ("start_map", "start_array", "string", "number", "boolean", "null"):
                items += 1
                if event.startswith("start_"):
                    builder, at = ijson.ObjectBuilder(), prefix
                    builder.event(event, value)
                else:
                    yield prefix, value
            elif prefix in scalars and event in ("string", "number", "boolean", "null"):
                yield prefix, value
            elif prefix in containers and event in ("start_map", "start_array"):
                yield prefix, Opened("list" if event == "start_array" else "object")
    except ijson.JSONError as exc:
        yield RowError(row=items + (1 if builder is None else 0), field="", detail=f"not valid JSON: {exc}")
