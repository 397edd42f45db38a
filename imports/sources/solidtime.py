"""solidtime's generic time entries CSV (the columns solidtime's own "Generic time entries"
importer reads, and its time entries export writes): ``description``, ``billable``
(``true``/``false``), ``client``, ``project``, ``task``, ``tags`` (comma separated),
``start`` and ``end`` (ISO 8601; solidtime writes UTC, ``2026-03-02T08:00:00Z``; a time
without an offset is read in the import's zone), ``user_name``, ``user_email``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from imports.sources.base import EntryRow, Item, ParseOptions, RowError
from imports.sources.values import BadValue, csv_rows, parse_bool, span_error, split_tags

# The column the pipeline's own error rows name (overlaps, locked periods, unknown people).
FIELDS = {"email": "user_email", "started_at": "start", "ended_at": "end", "duration": "end", "project": "project"}
REQUIRED = ("user_email", "start", "end")


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    for item in csv_rows(stream, REQUIRED):
        if isinstance(item, RowError):
            yield item
            continue
        number, row = item
        email = row["user_email"].strip().lower()
        if not email:
            yield RowError(row=number, field="user_email", detail="no email")
            continue
        try:
            started_at = _instant(row, "start", options.timezone)
            ended_at = _instant(row, "end", options.timezone)
        except _Bad as bad:
            yield RowError(row=number, field=bad.field, detail=bad.detail)
            continue
        error = span_error(number, "end", started_at, ended_at)
        if error is not None:
            yield error
            continue
        try:
            billable = parse_bool(row.get("billable", ""))
        except BadValue as exc:
            yield RowError(row=number, field="billable", detail=str(exc))
            continue
        task = row.get("task", "").strip()
        yield EntryRow(
            row=number,
            email=email,
            started_at=started_at,
            ended_at=ended_at,
            timezone=options.timezone.key,
            description=row.get("description", "").strip(),
            client=row.get("client", "").strip() or None,
            project=row.get("project", "").strip() or None,
            task_path=(task,) if task else (),
            billable=billable,
            tags=split_tags(row.get("tags", "")),
        )


class _Bad(Exception):
    def __init__(self, field: str, detail: str) -> None:
        self.field, self.detail = field, detail


def _instant(row: dict[str, str], field: str, zone: ZoneInfo) -> datetime:
    value = row.get(field, "").strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(field, f"{value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # fold=0: values.py's DST rule
    return moment.astimezone(UTC)  # values.aware: why UTC
