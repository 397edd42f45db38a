"""ActivityWatch's export (aw-server's ``GET /api/0/export``, the web UI's "Export all buckets
as JSON", or one bucket's ``/api/0/buckets/{id}/export``): ``{"buckets": {id: {id, created,
type, client, hostname, name?, data?, events: [{timestamp, duration, data}]}}}``, as
``activity.activitywatch.selectors.export_all`` writes it too.

Buckets and events are numbered together from 1 in file order (a bucket, then its events).
A bucket is read when its ``events`` list opens (aw-server writes its metadata first); a
bucket without a ``type`` there is one error row and its events are not read. Each event is
read by the live intake's rules (``events.parse_event``: timestamps from 1970 to a day ahead,
durations from 0 to 366 days, ``data`` an object without NUL characters); an event's own
``id`` is dropped (ids are the server's). Files name nobody: every bucket is the importing
user's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from activity.activitywatch.events import BadEvent, parse_event
from activity.activitywatch.services import BucketSpec
from imports.sources.base import AwBucketRow, AwEventRow, Item, ParseOptions, RowError

_LIMIT = 255  # AwBucket's text columns
_QUOTED = re.compile(r"'(\w+)'")


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    import ijson  # type: ignore[import-untyped]  # no stubs

    now = datetime.now(UTC)
    number, shaped = 0, False
    bucket: str | None = None  # the bucket being read: its key in "buckets"
    base = key = ""  # its ijson prefix; the key of its metadata being read
    meta: dict[str, Any] = {}
    readable = opened = False
    index = 0  # the event's index in its bucket
    builder: Any = None
    at = ""
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if builder is not None:  # building a value: a metadata value or an event
                builder.event(event, value)
                if prefix == at and event in ("end_map", "end_array"):
                    built, builder = builder.value, None
                    if at == f"{base}.events.item":
                        if readable:
                            yield _event(number, bucket or "", index, built, now)
                    else:
                        meta[key] = built
                continue
            if prefix == "buckets":
                if event == "start_map":
                    shaped = True
                elif event == "map_key":
                    bucket, base, meta, opened, index = value, f"buckets.{value}", {}, False, 0
                continue
            if bucket is None:
                continue
            if prefix == base:
                if event == "map_key":
                    key = value
                elif event == "end_map" and not opened:  # a bucket without events
                    number += 1
                    yield _bucket(number, bucket, meta)
                elif event not in ("start_map", "end_map"):
                    number += 1
                    yield RowError(row=number, field=bucket, detail="not a bucket (an object with type and events)")
            elif prefix == f"{base}.events" and event == "start_array":
                number += 1
                opened = True
                row = _bucket(number, bucket, meta)
                readable = isinstance(row, AwBucketRow)
                yield row
            elif prefix == f"{base}.events.item":
                number += 1
                index += 1
                if event.startswith("start_"):
                    builder, at = ijson.ObjectBuilder(), prefix
                    builder.event(event, value)
                elif readable:
                    yield _event(number, bucket, index, value, now)
            elif prefix == f"{base}.{key}" and key != "events":
                if event.startswith("start_"):
                    builder, at = ijson.ObjectBuilder(), prefix
                    builder.event(event, value)
                elif event in ("string", "number", "boolean", "null"):
                    meta[key] = value
    except ijson.JSONError as exc:
        yield RowError(row=number + 1, field="", detail=f"not valid JSON: {exc}")
        return
    if not shaped:
        yield RowError(row=1, field="buckets", detail="not an ActivityWatch export: an object with buckets")


def _bucket(number: int, bucket_id: str, meta: dict[str, Any]) -> AwBucketRow | RowError:
    texts: dict[str, str] = {}
    for key, default in (("type", None), ("client", ""), ("hostname", "unknown")):
        value = meta.get(key, default)
        if value is None and default is not None:
            value = default
        if not isinstance(value, str) or (key == "type" and not value.strip()):
            return RowError(row=number, field=key, detail=f"bucket {bucket_id}: no {key}")
        texts[key] = value
    name = meta.get("name")
    data = meta.get("data") or {}
    if name is not None and not isinstance(name, str):
        return RowError(row=number, field="name", detail=f"bucket {bucket_id}: the name is not text")
    if not isinstance(data, dict):
        return RowError(row=number, field="data", detail=f"bucket {bucket_id}: data is not an object")
    for field, text in (("id", bucket_id), *texts.items(), ("name", name or "")):
        if len(text) > _LIMIT:
            return RowError(
                row=number, field=field, detail=f"bucket {bucket_id[:64]}: {field} over {_LIMIT} characters"
            )
    return AwBucketRow(row=number, spec=BucketSpec(bucket_id=bucket_id, name=name, data=data, **texts))


def _event(number: int, bucket_id: str, index: int, raw: Any, now: datetime) -> AwEventRow | RowError:
    where = f"bucket {bucket_id}, event {index}"
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k != "id"}  # the exporting server's id
    try:
        event = parse_event(raw, now=now)
    except BadEvent as exc:
        named = _QUOTED.search(str(exc))
        return RowError(row=number, field=named[1] if named else "", detail=f"{where}: {exc}")
    if "\\u0000" in json.dumps(event.data):  # jsonb cannot hold it (the live intake refuses it too)
        return RowError(row=number, field="data", detail=f"{where}: 'data' must not contain NUL characters")
    return AwEventRow(row=number, bucket_id=bucket_id, event=event)
