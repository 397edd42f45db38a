"""Writes of the ActivityWatch API: buckets, events, heartbeats (aw-server's rule), and the
same events fed to Stint's pipeline in the same transaction (``feed``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction

from activity import heartbeats
from activity.models import AwBucket, AwEvent, HeartbeatInbox
from activity.privacy import CompiledRule
from common.bulk import copy_rows
from common.exceptions import NotFoundError

from . import feed
from .events import BadEvent, Event, heartbeat_merge


@dataclass(frozen=True)
class BucketSpec:
    bucket_id: str
    type: str
    client: str
    hostname: str
    name: str | None = None
    data: dict[str, Any] | None = None


def bucket_create(*, company_id: UUID, user_id: UUID, spec: BucketSpec) -> bool:
    """Create the user's bucket; False when it exists already (aw-server's 304: a watcher
    creates its bucket at every start, and the existing one is kept as it is)."""
    _, created = AwBucket.objects.get_or_create(
        company_id=company_id,
        user_id=user_id,
        bucket_id=spec.bucket_id,
        defaults={
            "type": spec.type,
            "client": spec.client,
            "hostname": spec.hostname,
            "name": spec.name,
            "data": spec.data or {},
        },
    )
    return created


def bucket_delete(*, bucket: AwBucket) -> None:
    """The bucket and its events. What they fed into app usage stays: it is the member's
    tracked time, as heartbeats sent to ``/sync/heartbeats`` stay."""
    bucket.delete()


def _storable(data: dict[str, Any]) -> None:
    # PostgreSQL's jsonb cannot hold U+0000; aw-server's SQLite could. Refused, not altered.
    if "\\u0000" in json.dumps(data):
        raise BadEvent("'data' must not contain NUL characters")


def _feed(*, bucket: AwBucket, events: Sequence[Event], pulsetime: float, now: datetime) -> None:
    if bucket.type == feed.EDITOR:
        feed.store_coding(
            company_id=bucket.company_id,
            user_id=bucket.user_id,
            hostname=bucket.hostname,
            client=bucket.client,
            events=events,
            now=now,
        )
        return
    rows = feed.inbox_rows(
        company_id=bucket.company_id,
        user_id=bucket.user_id,
        hostname=bucket.hostname,
        bucket_type=bucket.type,
        bucket_id=bucket.bucket_id,
        client=bucket.client,
        events=events,
        pulsetime=pulsetime,
        now=now,
    )
    if rows:
        copy_rows(HeartbeatInbox, heartbeats.INBOX_COLUMNS, rows)
        transaction.on_commit(heartbeats.merge_soon)


@transaction.atomic
def events_insert(
    *, bucket: AwBucket, events: Sequence[Event], rules: Sequence[CompiledRule], now: datetime
) -> list[Event]:
    """Insert events (aw-server's ``POST .../events``), privacy rules applied; returns those
    stored, with their ids. An event carrying the id of one of the bucket's events replaces it
    (aw-server's upsert); any other id is ignored."""
    kept: list[Event] = []
    for event in events:
        data = feed.private(event.data, rules, bucket.type)
        if data is None:
            continue
        _storable(data)
        kept.append(Event(timestamp=event.timestamp, duration=event.duration, data=data, id=event.id))
    replace = {e.id: e for e in kept if e.id is not None}
    existing = set(AwEvent.objects.filter(bucket=bucket, pk__in=list(replace)).values_list("pk", flat=True))
    for event_id in existing:
        e = replace[event_id]
        AwEvent.objects.filter(pk=event_id).update(timestamp=e.timestamp, duration=e.duration, data=e.data)
    new = [e for e in kept if e.id not in existing]
    rows = AwEvent.objects.bulk_create(
        [
            AwEvent(
                company_id=bucket.company_id, bucket=bucket, timestamp=e.timestamp, duration=e.duration, data=e.data
            )
            for e in new
        ]
    )
    for event, row in zip(new, rows, strict=True):
        event.id = row.pk
    # Complete events, not heartbeats: each is an interval of its own (pulsetime 0).
    _feed(bucket=bucket, events=kept, pulsetime=0, now=now)
    return kept


def no_such_bucket(bucket_id: str) -> NotFoundError:
    return NotFoundError(f"There's no bucket named {bucket_id}", code="not_found")


@transaction.atomic
def heartbeat(
    *,
    company_id: UUID,
    user_id: UUID,
    bucket_id: str,
    heartbeat: Event,
    pulsetime: float,
    rules: Sequence[CompiledRule],
    now: datetime,
) -> Event:
    """aw-server's heartbeat: merged into the bucket's last event (the latest by timestamp)
    when ``events.heartbeat_merge`` says so, else inserted; returns the event as stored.

    The bucket's row is locked first, so two heartbeats racing on one bucket merge one after
    the other (aw-server holds a process-wide lock for the same reason): neither can read the
    last event before the other's write is committed, so no merge is lost or doubled.
    A heartbeat a privacy rule drops is stored nowhere and answered as sent. The lookup is the
    lock: the user's bucket in the company, else 404.

    The last event is read by a statement of its own, after the lock is held: one statement
    joining it to the locked bucket would, having waited for the lock, recheck the bucket's
    row but keep the event it read before waiting (PostgreSQL's EvalPlanQual), and merge
    into a stale one."""
    bucket = (
        AwBucket.objects.select_for_update().filter(company_id=company_id, user_id=user_id, bucket_id=bucket_id).first()
    )
    if bucket is None:
        raise no_such_bucket(bucket_id)
    data = feed.private(heartbeat.data, rules, bucket.type)
    if data is None:
        return heartbeat
    _storable(data)
    heartbeat = Event(timestamp=heartbeat.timestamp, duration=heartbeat.duration, data=data)
    last_row = (
        AwEvent.objects.filter(bucket_id=bucket.pk)
        .order_by("-timestamp", "-id")
        .values_list("id", "timestamp", "duration", "data")
        .first()
    )
    merged = None
    if last_row is not None:
        last = Event(id=last_row[0], timestamp=last_row[1], duration=last_row[2], data=last_row[3])
        merged = heartbeat_merge(last, heartbeat, pulsetime)
    if merged is not None and last_row is not None:
        # Same data and the same start: only the duration moves.
        AwEvent.objects.filter(pk=last_row[0]).update(duration=merged.duration)
        result = merged
    else:
        row = AwEvent.objects.create(
            company_id=bucket.company_id,
            bucket=bucket,
            timestamp=heartbeat.timestamp,
            duration=heartbeat.duration,
            data=heartbeat.data,
        )
        heartbeat.id = row.pk
        result = heartbeat
    _feed(bucket=bucket, events=[heartbeat], pulsetime=pulsetime, now=now)
    return result
