"""Stint's own full export (``POST /reports/exports {report: "full", format: "json"}``,
reports/exports.py, docs/reports.md): one JSON object written in this order,
``format`` ("stint_json"), ``version``, ``company``, ``members``, ``clients``, ``projects``,
``tasks`` (parents before children), ``entries``. Read as a stream (ijson), one item at a
time. Items are numbered from 1 in file order across the five lists; members yield nothing
(they are matched by email); clients, projects and tasks are created when missing, even
without entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from imports.sources.base import ClientRow, EntryRow, Item, ParseOptions, ProjectRow, RowError, TaskRow
from imports.sources.values import json_items, span_error

# The column the pipeline's own error rows name (overlaps, locked periods, unknown people).
FIELDS = {
    "email": "email",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "duration": "ended_at",
    "project": "project",
}
FORMAT = "stint_json"
VERSION = 1
NOT_OURS = f"not a Stint full export (it does not start with format {FORMAT!r})"
LISTS = {"members.item", "clients.item", "projects.item", "tasks.item", "entries.item"}


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    number, named = 0, False
    for found in json_items(stream, LISTS, frozenset({"format", "version"})):
        if isinstance(found, RowError):
            yield found
            return
        prefix, value = found
        if not named and prefix != "format":  # the export writes it first
            yield RowError(row=1, field="format", detail=NOT_OURS)
            return
        named = True
        if prefix == "format" and value != FORMAT:
            yield RowError(row=1, field="format", detail=f"{value!r}: not a Stint full export ({FORMAT})")
            return
        if prefix == "version":
            if value != VERSION:
                yield RowError(row=1, field="version", detail=f"version {value!r}: this Stint reads version {VERSION}")
                return
            continue
        if prefix == "format":
            continue
        number += 1
        if not isinstance(value, dict):
            yield RowError(row=number, field="", detail="not an object")
            continue
        try:
            if prefix == "clients.item":
                yield ClientRow(row=number, name=_text(value, "name", required=True) or "")
            elif prefix == "projects.item":
                yield _project(number, value)
            elif prefix == "tasks.item":
                yield _task(number, value)
            elif prefix == "entries.item":
                yield _entry(number, value)
        except _Bad as bad:
            yield RowError(row=number, field=bad.field, detail=bad.detail)
    if not named:
        yield RowError(row=1, field="format", detail=NOT_OURS)


class _Bad(Exception):
    def __init__(self, field: str, detail: str) -> None:
        self.field, self.detail = field, detail


def _text(item: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = item.get(field)
    if value is None or value == "":
        if required:
            raise _Bad(field, "missing")
        return None
    if not isinstance(value, str):
        raise _Bad(field, f"{value!r} is not text")
    return value


def _flag(item: dict[str, Any], field: str) -> bool | None:
    value = item.get(field)
    if value is not None and not isinstance(value, bool):
        raise _Bad(field, f"{value!r} is not true or false")
    return value


def _path(item: dict[str, Any], field: str) -> tuple[str, ...]:
    value = item.get(field) or []
    if not isinstance(value, list) or not all(isinstance(title, str) and title for title in value):
        raise _Bad(field, "not a list of task titles")
    return tuple(value)


def _project(number: int, item: dict[str, Any]) -> ProjectRow:
    return ProjectRow(
        row=number,
        name=_text(item, "name", required=True) or "",
        client=_text(item, "client"),
        color=_text(item, "color"),
        billable=_flag(item, "billable"),
        archived=bool(_flag(item, "archived")),
    )


def _task(number: int, item: dict[str, Any]) -> TaskRow:
    path = _path(item, "path")
    if not path:
        raise _Bad("path", "missing")
    estimate = item.get("estimate_seconds")
    if estimate is not None and (isinstance(estimate, bool) or not isinstance(estimate, int) or estimate < 0):
        raise _Bad("estimate_seconds", f"{estimate!r} is not a number of seconds")
    return TaskRow(
        row=number,
        project=_text(item, "project", required=True) or "",
        path=path,
        status=_text(item, "status"),
        estimate_seconds=estimate,
    )


def _entry(number: int, item: dict[str, Any]) -> EntryRow | RowError:
    zone_name = _text(item, "timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad("timezone", f"{zone_name!r} is not an IANA time zone") from None
    started_at, ended_at = _instant(item, "started_at"), _instant(item, "ended_at")
    error = span_error(number, "ended_at", started_at, ended_at)
    if error is not None:
        return error
    entry_id = item.get("id")
    return EntryRow(
        row=number,
        email=(_text(item, "email", required=True) or "").strip().lower(),
        started_at=started_at.astimezone(UTC),  # values.aware: why UTC
        ended_at=ended_at.astimezone(UTC),
        timezone=zone.key,
        description=_text(item, "description") or "",
        client=_text(item, "client"),
        project=_text(item, "project"),
        task_path=_path(item, "task_path"),
        billable=bool(_flag(item, "billable")),
        source_id=str(entry_id) if entry_id not in (None, "") else None,
    )


def _instant(item: dict[str, Any], field: str) -> datetime:
    value = _text(item, field, required=True) or ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(field, f"{value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise _Bad(field, f"{value!r} has no UTC offset")
    return moment
