"""Heartbeat intake and the merge loop (SPEC: Sync, ``POST /sync/heartbeats``; docs/activity.md).

Intake is the hottest path of the product (every tracker, every few seconds), so it does the
least that keeps its promise: validate the whole batch (plain Python, no serializer per item),
apply the company's privacy rules, ``COPY`` the heartbeats into the inbox table (committed, so
a 202 survives a crash of anything right after it), and make sure a merge runs soon.

The merge (a Celery task, also on beat as a safety net) claims one device at a time with a
transaction-scoped advisory lock that other workers skip, moves that device's inbox rows into
the raw heartbeat table and merges them into app-usage intervals, all in one transaction: a
worker killed mid-merge leaves the rows in the inbox, nothing half-merged and nothing twice."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from activity import partitions
from activity.appusage import Beat, appusage_merge, domain_of
from activity.models import HeartbeatInbox
from activity.privacy import REDACTED, apply_privacy, privacy_rules_for
from common.bulk import copy_rows
from common.exceptions import InvalidInput
from common.redis import get_client, key
from organizations.models import Membership

logger = structlog.get_logger(__name__)

MAX_HEARTBEATS = 1000
MAX_FUTURE = timedelta(hours=1)
MAX_DURATION = 24 * 3600.0
MAX_PULSETIME = 3600.0
LIMITS = {"app": 255, "title": 1000, "url": 2048}
BATCH_KEYS = frozenset({"device_id", "pulsetime", "heartbeats"})
HEARTBEAT_KEYS = frozenset({"timestamp", "duration", "app", "title", "url", "project_id"})


def _invalid(detail: str, attr: str) -> InvalidInput:
    return InvalidInput(detail, code="invalid", attr=attr)


def _text(value, attr: str, *, limit: int, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid("Must be a string.", attr)
    if required and not value.strip():
        raise _invalid("Must not be blank.", attr)
    if len(value) > limit:
        raise _invalid(f"At most {limit} characters.", attr)
    if "\x00" in value:
        raise _invalid("Must not contain NUL characters.", attr)
    return value


def _known(data: dict, allowed: frozenset[str], at: str = "") -> None:
    """SPEC Conventions: an unknown body field is a 400 naming it, never silently ignored (the
    message and code of common.serializers.InputSerializer, which these hand validators match)."""
    if not data.keys() <= allowed:
        unknown = min(str(key) for key in data if key not in allowed)
        raise InvalidInput(
            "Unknown or read-only field: remove it.", code="unknown_field", attr=f"{at}.{unknown}" if at else unknown
        )


def _number(value, attr: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid("Must be a number.", attr)
    if not low <= value <= high:
        raise _invalid(f"Must be between {low:g} and {high:g}.", attr)
    return float(value)


def _timestamp(value, attr: str, *, now: datetime) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _invalid("Must be an RFC 3339 timestamp.", attr)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("Must be an RFC 3339 timestamp.", attr) from None
    if moment.tzinfo is None:
        raise _invalid("Must carry a UTC offset (Z or +hh:mm).", attr)
    if moment > now + MAX_FUTURE:
        raise _invalid("Must not be more than an hour in the future.", attr)
    if moment < now - timedelta(days=settings.HEARTBEAT_MAX_AGE_DAYS):
        raise _invalid(f"Must not be older than {settings.HEARTBEAT_MAX_AGE_DAYS} days.", attr)
    return moment


@dataclass(frozen=True)
class Batch:
    device_id: str
    pulsetime: float
    heartbeats: list[dict]


def heartbeats_parse(data, *, now: datetime) -> Batch:
    """The whole batch, validated; the first bad item refuses it (400 naming it), nothing is
    stored. An unknown field is bad too (SPEC: Conventions)."""
    if not isinstance(data, dict):
        raise _invalid("Expected a JSON object.", "non_field_errors")
    _known(data, BATCH_KEYS)
    device_id = _text(data.get("device_id"), "device_id", limit=100, required=True)
    pulsetime = data.get("pulsetime")
    pulsetime = (
        float(settings.HEARTBEAT_PULSETIME_SECONDS)
        if pulsetime is None
        else _number(pulsetime, "pulsetime", low=0, high=MAX_PULSETIME)
    )
    items = data.get("heartbeats")
    if not isinstance(items, list):
        raise _invalid("Must be a list.", "heartbeats")
    out = []
    for n, item in enumerate(items):
        at = f"heartbeats.{n}"
        if not isinstance(item, dict):
            raise _invalid("Must be an object.", at)
        _known(item, HEARTBEAT_KEYS, at)
        project_id = item.get("project_id")
        if project_id is not None:
            try:
                project_id = uuid.UUID(project_id) if isinstance(project_id, str) else None
            except ValueError:
                project_id = None
            if project_id is None:
                raise _invalid("Must be a UUID.", f"{at}.project_id")
        out.append(
            {
                "timestamp": _timestamp(item.get("timestamp"), f"{at}.timestamp", now=now),
                "duration": _number(item.get("duration"), f"{at}.duration", low=0, high=MAX_DURATION),
                "app": _text(item.get("app"), f"{at}.app", limit=LIMITS["app"], required=True),
                "title": _text(item.get("title"), f"{at}.title", limit=LIMITS["title"], required=False),
                "url": _text(item.get("url"), f"{at}.url", limit=LIMITS["url"], required=False),
                "project_id": project_id,
            }
        )
    return Batch(device_id=device_id, pulsetime=pulsetime, heartbeats=out)


# --------------------------------------------------------------------------- intake


def heartbeats_accept(*, membership: Membership, data) -> int:
    """Validate, filter and store a batch of ``membership``'s user in its company; returns how
    many heartbeats were accepted (those a privacy rule dropped included: the client must not
    send them again)."""
    now = timezone.now()
    batch = heartbeats_parse(data, now=now)
    projects = {h["project_id"] for h in batch.heartbeats if h["project_id"] is not None}
    if projects:
        from organizations.permissions import visible_projects

        known = set(visible_projects(membership).filter(pk__in=projects).values_list("pk", flat=True))
        for n, heartbeat in enumerate(batch.heartbeats):
            if heartbeat["project_id"] is not None and heartbeat["project_id"] not in known:
                raise _invalid("No such project.", f"heartbeats.{n}.project_id")
    rows = inbox_rows(
        batch,
        company_id=membership.company_id,
        user_id=membership.user_id,
        rules=privacy_rules_for(membership.company_id),
        now=now,
    )
    # One COPY of plain tuples (no model instances: this is the hottest path); committed when
    # it returns, or with the request's transaction under an Idempotency-Key.
    copy_rows(HeartbeatInbox, INBOX_COLUMNS, rows)
    if rows:
        transaction.on_commit(merge_soon)
    return len(batch.heartbeats)


def inbox_rows(batch: Batch, *, company_id, user_id, rules, now: datetime) -> list[tuple]:
    """The batch as inbox rows (``INBOX_COLUMNS``), privacy rules applied: dropped heartbeats
    are left out, redacted fields replaced (a redacted URL takes its domain with it)."""
    rows = []
    for heartbeat in batch.heartbeats:
        kept = apply_privacy(heartbeat, rules) if rules else heartbeat
        if kept is None:
            continue
        url = kept["url"]
        rows.append(
            (
                company_id,
                user_id,
                batch.device_id,
                kept["timestamp"],
                kept["duration"],
                kept["app"],
                kept["title"],
                url,
                REDACTED if url == REDACTED else domain_of(url),
                kept["project_id"],
                batch.pulsetime,
                now,
            )
        )
    return rows


MERGE_DEBOUNCE_SECONDS = 0.5
INBOX_COLUMNS = [
    "company_id",
    "user_id",
    "device_id",
    "timestamp",
    "duration",
    "app",
    "title",
    "url",
    "domain",
    "project_id",
    "pulsetime",
    "received_at",
]


_last_queued = [0.0]  # this process's last trigger (monotonic): most requests skip Redis too


def merge_due() -> bool:
    """Has this process not triggered a merge for half a second? (If so, it now has.)"""
    now = time.monotonic()
    if now - _last_queued[0] < MERGE_DEBOUNCE_SECONDS:
        return False
    _last_queued[0] = now
    return True


def merge_soon() -> None:
    """Queue a merge unless this process did in the last half second (at thousands of
    requests a second, one task per request would be the bottleneck)."""
    if merge_due():
        queue_merge()


def queue_merge() -> None:
    """Queue a merge unless any process did in the last half second. Beat runs one every few
    seconds anyway, so a lost trigger only delays a merge."""
    from activity.tasks import merge_heartbeats

    try:
        if get_client().set(key("heartbeats", "merge-queued"), 1, nx=True, px=int(MERGE_DEBOUNCE_SECONDS * 1000)):
            merge_heartbeats.apply_async(countdown=MERGE_DEBOUNCE_SECONDS)
    except Exception:  # the heartbeats are stored; beat merges them
        logger.warning("merge_trigger_failed", exc_info=True)


# --------------------------------------------------------------------------- merging

CLAIM_BATCH = 5000
_CLAIM_SQL = """
WITH moved AS (
    DELETE FROM sync_heartbeatinbox
    WHERE id IN (
        SELECT id FROM sync_heartbeatinbox WHERE user_id = %s AND device_id = %s AND id <= %s
        ORDER BY id LIMIT %s
    )
    RETURNING *
), archived AS (
    INSERT INTO tracking_heartbeat
        (company_id, user_id, device_id, "timestamp", duration, app, title, url, domain, project_id, received_at)
    SELECT company_id, user_id, device_id, "timestamp", duration, app, title, url, domain, project_id, received_at
    FROM moved
)
SELECT company_id, "timestamp", duration, app, title, url, pulsetime FROM moved
"""


def _device_lock(user_id, device_id: str) -> int:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"stint-hb:{user_id}:{device_id}").int % (2**63)


def merge_device(user_id, device_id: str) -> int | None:
    """Merge up to CLAIM_BATCH of one device's pending heartbeats; None if another worker has
    the device, else how many were merged."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT max(id), min("timestamp"), max("timestamp" + duration * interval \'1 second\') '
            "FROM sync_heartbeatinbox WHERE user_id = %s AND device_id = %s",
            [user_id, device_id],
        )
        upto, first, last = cursor.fetchone()
    if upto is None:
        return 0
    # Partitions first, in their own transaction: DDL must not wait inside the merge's.
    months = partitions.months_between(first - timedelta(seconds=MAX_PULSETIME), last)
    partitions.ensure(partitions.HEARTBEATS, months)
    partitions.ensure(partitions.APP_USAGE, months)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_device_lock(user_id, device_id)])
            if not cursor.fetchone()[0]:
                return None
            cursor.execute(_CLAIM_SQL, [user_id, device_id, upto, CLAIM_BATCH])
            beats = [
                Beat(timestamp, duration, (str(company_id), app, title, url), pulsetime)
                for company_id, timestamp, duration, app, title, url, pulsetime in cursor.fetchall()
            ]
        appusage_merge(user_id=user_id, device_id=device_id, beats=beats)
    return len(beats)


def merge_pending(*, max_devices: int = 1000) -> int:
    """Merge every device with pending heartbeats (skipping devices another worker holds);
    returns how many heartbeats were merged."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT user_id, device_id FROM sync_heartbeatinbox LIMIT %s",
            [max_devices],
        )
        devices = cursor.fetchall()
    merged = 0
    for user_id, device_id in devices:
        while True:
            count = merge_device(user_id, device_id)
            if not count:
                break
            merged += count
            if count < CLAIM_BATCH:
                break
    return merged


# --------------------------------------------------------------------------- activity samples

MAX_SAMPLES = 1000
MAX_COUNT = 1_000_000  # key presses or mouse events in one minute: far beyond any human
SAMPLES_KEYS = frozenset({"device_id", "samples"})
SAMPLE_KEYS = frozenset({"minute", "keyboard", "mouse", "active_seconds"})


def samples_parse(data, *, now: datetime) -> tuple[str, list[dict]]:
    """``{device_id, samples: [{minute, keyboard, mouse, active_seconds}]}``, validated whole;
    minutes are truncated to the minute, and a minute sent twice keeps its last sample."""
    if not isinstance(data, dict):
        raise _invalid("Expected a JSON object.", "non_field_errors")
    _known(data, SAMPLES_KEYS)
    device_id = _text(data.get("device_id"), "device_id", limit=100, required=True)
    items = data.get("samples")
    if not isinstance(items, list):
        raise _invalid("Must be a list.", "samples")
    by_minute: dict[datetime, dict] = {}
    for n, item in enumerate(items):
        at = f"samples.{n}"
        if not isinstance(item, dict):
            raise _invalid("Must be an object.", at)
        _known(item, SAMPLE_KEYS, at)
        minute = _timestamp(item.get("minute"), f"{at}.minute", now=now).replace(second=0, microsecond=0)
        counts = {}
        for name, high in (("keyboard", MAX_COUNT), ("mouse", MAX_COUNT), ("active_seconds", 60)):
            value = item.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid("Must be a whole number.", f"{at}.{name}")
            counts[name] = int(_number(value, f"{at}.{name}", low=0, high=high))
        by_minute[minute] = {"minute": minute, **counts}
    return device_id, list(by_minute.values())


_UPSERT_SAMPLES = """
INSERT INTO tracking_activitysample
    (id, created_at, updated_at, company_id, user_id, device_id, minute, keyboard, mouse, active_seconds)
SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::timestamptz[], %s::uuid[], %s::uuid[], %s::varchar[],
                     %s::timestamptz[], %s::integer[], %s::integer[], %s::smallint[])
ON CONFLICT (user_id, device_id, minute) DO UPDATE SET
    keyboard = EXCLUDED.keyboard, mouse = EXCLUDED.mouse, active_seconds = EXCLUDED.active_seconds,
    updated_at = EXCLUDED.updated_at, company_id = EXCLUDED.company_id
"""


def activity_accept(*, membership: Membership, data) -> int:
    """Upsert per-minute samples of ``membership``'s user (a resent minute replaces the
    stored one: the client's count for a minute is the whole minute's); returns how many."""
    from common.models import uuid7

    now = timezone.now()
    device_id, samples = samples_parse(data, now=now)
    if not samples:
        return 0
    n = len(samples)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SAMPLES,
            [
                [uuid7() for _ in range(n)],
                [now] * n,
                [now] * n,
                [membership.company_id] * n,
                [membership.user_id] * n,
                [device_id] * n,
                [s["minute"] for s in samples],
                [s["keyboard"] for s in samples],
                [s["mouse"] for s in samples],
                [s["active_seconds"] for s in samples],
            ],
        )
    return n
