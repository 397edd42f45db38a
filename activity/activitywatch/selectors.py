"""Reads of the ActivityWatch API, always for the caller's own buckets (the user in the
company the request acts in): another user's bucket does not exist for them (404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import DateTimeField, QuerySet
from django.db.models.expressions import RawSQL

from activity.models import AwBucket, AwEvent

from .events import Event
from .feed import AFK

# The end of an event, in SQL (aw-server's peewee storage computes the same in SQLite).
_END = RawSQL(
    "activity_awevent.timestamp + activity_awevent.duration * interval '1 second'", [], output_field=DateTimeField()
)


def bucket_for(*, company_id: UUID, user_id: UUID, bucket_id: str) -> AwBucket | None:
    return AwBucket.objects.filter(company_id=company_id, user_id=user_id, bucket_id=bucket_id).first()


def bucket_json(bucket: AwBucket) -> dict[str, Any]:
    """aw-server's bucket metadata (peewee's ``BucketModel.json``)."""
    return {
        "id": bucket.bucket_id,
        "created": bucket.created_at.astimezone(UTC).isoformat(),
        "name": bucket.name,
        "type": bucket.type,
        "client": bucket.client,
        "hostname": bucket.hostname,
        "data": bucket.data,
    }


def bucket_list(*, company_id: UUID, user_id: UUID) -> dict[str, dict[str, Any]]:
    """aw-server's ``GET /buckets/``: metadata keyed by bucket id, with ``last_updated`` (the
    end of the latest event) for buckets that have events. Two queries whatever the count."""
    buckets = list(AwBucket.objects.filter(company_id=company_id, user_id=user_id).order_by("bucket_id"))
    latest = (
        AwEvent.objects.filter(bucket__in=buckets)
        .order_by("bucket_id", "-timestamp", "-id")
        .distinct("bucket_id")
        .values_list("bucket_id", "timestamp", "duration")
    )
    ends = {pk: timestamp + timedelta(seconds=duration) for pk, timestamp, duration in latest} if buckets else {}
    result = {}
    for bucket in buckets:
        body = bucket_json(bucket)
        if bucket.pk in ends:
            body["last_updated"] = ends[bucket.pk].astimezone(UTC).isoformat()
        result[bucket.bucket_id] = body
    return result


def _in_range(qs: QuerySet[AwEvent], start: datetime | None, end: datetime | None) -> QuerySet[AwEvent]:
    """aw-server's range: events that end at or after ``start`` and start at or before ``end``."""
    if start is not None:
        qs = qs.annotate(ends_at=_END).filter(ends_at__gte=start)
    if end is not None:
        qs = qs.filter(timestamp__lte=end)
    return qs


def events_list(*, bucket: AwBucket, limit: int, start: datetime | None, end: datetime | None) -> list[Event]:
    """The bucket's events, newest first; ``limit`` < 0 means all (aw-client sends -1). Events
    reaching outside ``[start, end]`` are trimmed to it, as aw-server does."""
    if limit == 0:
        return []
    qs = _in_range(AwEvent.objects.filter(bucket=bucket), start, end).order_by("-timestamp", "-id")
    if limit > 0:
        qs = qs[:limit]
    events = [
        Event(id=pk, timestamp=ts, duration=duration, data=data)
        for pk, ts, duration, data in qs.values_list("id", "timestamp", "duration", "data")
    ]
    for event in events:
        if start is not None and event.timestamp < start:
            ends = event.end()
            event.timestamp = start
            event.duration = (ends - start).total_seconds()
        if end is not None and event.end() > end:
            event.duration = (end - event.timestamp).total_seconds()
    return events


def event_count(*, bucket: AwBucket, start: datetime | None, end: datetime | None) -> int:
    return _in_range(AwEvent.objects.filter(bucket=bucket), start, end).count()


def event_get(*, bucket: AwBucket, event_id: int) -> Event | None:
    row = AwEvent.objects.filter(bucket=bucket, pk=event_id).values_list("id", "timestamp", "duration", "data").first()
    return None if row is None else Event(id=row[0], timestamp=row[1], duration=row[2], data=row[3])


def bucket_export(bucket: AwBucket) -> dict[str, Any]:
    """aw-server's export of one bucket: its metadata and every event, without ids."""
    body = bucket_json(bucket)
    events = []
    for event in events_list(bucket=bucket, limit=-1, start=None, end=None):
        rendered = event.to_json()
        del rendered["id"]
        events.append(rendered)
    body["events"] = events
    return body


def export_all(*, company_id: UUID, user_id: UUID) -> dict[str, dict[str, Any]]:
    buckets = AwBucket.objects.filter(company_id=company_id, user_id=user_id).order_by("bucket_id")
    return {bucket.bucket_id: bucket_export(bucket) for bucket in buckets}


def afk_intervals(
    *, company_id: UUID, user_id: UUID, lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime, str]]:
    """``(start, end, status)`` of the user's ``afkstatus`` events in the company overlapping
    ``[lo, hi)``, every device's: ``status`` is ``"afk"`` or ``"not-afk"`` (anything else is
    left out). The reports attribute them with ``activity.timeline`` (a moment once per user)."""
    rows = (
        AwEvent.objects.filter(company_id=company_id, bucket__user_id=user_id, bucket__type=AFK, timestamp__lt=hi)
        .annotate(ends_at=_END)
        .filter(ends_at__gt=lo)
        .values_list("timestamp", "ends_at", "data")
    )
    return [
        (start, ends, data["status"])
        for start, ends, data in rows
        if isinstance(data, dict) and data.get("status") in ("afk", "not-afk")
    ]
