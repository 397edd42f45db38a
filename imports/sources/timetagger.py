"""TimeTagger's records as JSON: a list of records, or ``{"records": [...]}`` as its API
(``GET /api/v2/records``) returns them. A record is ``{key, t1, t2, ds, mt, st}``: start and
end in Unix seconds, the description with ``#tags`` in it.

TimeTagger files name nobody: every entry is the importing user's. The record's ``key`` is
the entry's source id (re-importing a record edited since updates nothing twice). A record
whose ``ds`` holds ``HIDDEN`` was deleted in TimeTagger and is skipped (not an error, not
imported). A running record (``t1 == t2``) is an error row: it has no end yet. TimeTagger has
no projects: entries land in "No project", the description keeps its ``#tags``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from imports.sources.base import EntryRow, Item, ParseOptions, RowError
from imports.sources.values import Opened, json_items, span_error

# The column the pipeline's own error rows name (overlaps, locked periods, unknown people).
# (The person is the importing user: an unknown-person row names no key.)
FIELDS = {"email": "", "started_at": "t1", "ended_at": "t2", "duration": "t2", "project": "ds"}
TAG = re.compile(r"#([^\s#,.;:!?()\[\]{}]+)")


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    email = options.importer_email.strip().lower()
    number, shaped = 0, False
    for found in json_items(stream, {"item", "records.item"}, containers=frozenset({"", "records"})):
        if isinstance(found, RowError):
            yield found
            return
        prefix, value = found
        if isinstance(value, Opened):  # a list of records, or an object with one at "records"
            shaped = shaped or value.kind == "list"
            continue
        number += 1
        yield from _record(number, value, email, options)
    if not shaped:
        yield RowError(row=1, field="records", detail="not TimeTagger records: a list, or an object with records")


def _record(number: int, record: Any, email: str, options: ParseOptions) -> Iterator[Item]:
    if not isinstance(record, dict):
        yield RowError(row=number, field="", detail="not a record (an object with key, t1, t2)")
        return
    ds = record.get("ds") or ""
    if not isinstance(ds, str):
        yield RowError(row=number, field="ds", detail="not text")
        return
    if "HIDDEN" in ds.split():
        return  # deleted in TimeTagger
    key = record.get("key")
    if not isinstance(key, str) or not key:
        yield RowError(row=number, field="key", detail="no key")
        return
    stamps = []
    for field in ("t1", "t2"):
        value = record.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            yield RowError(row=number, field=field, detail=f"{value!r} is not a Unix time in seconds")
            return
        try:
            stamps.append(datetime.fromtimestamp(round(value), UTC))
        except (OverflowError, OSError, ValueError):
            yield RowError(row=number, field=field, detail=f"{value!r} is out of range")
            return
    started_at, ended_at = stamps
    if started_at == ended_at:
        yield RowError(row=number, field="t2", detail="a running record (t2 equals t1): stop it, then export again")
        return
    error = span_error(number, "t2", started_at, ended_at)
    if error is not None:
        yield error
        return
    if not email:
        yield RowError(row=number, field="", detail="TimeTagger records name nobody: no importing user")
        return
    yield EntryRow(
        row=number,
        email=email,
        started_at=started_at,
        ended_at=ended_at,
        timezone=options.timezone.key,
        description=" ".join(ds.split()),
        tags=tuple(dict.fromkeys(TAG.findall(ds))),
        source_id=key,
    )
