"""The merge loop: inbox heartbeats into app-usage intervals (docs/activity.md, "Merging").

The merge (a Celery task, ``activity.tasks.merge_heartbeats``, queued by intake and on beat as
a safety net) claims one device at a time with a transaction-scoped advisory lock that other
workers skip, moves that device's inbox rows into the raw heartbeat table and merges them into
app-usage intervals (``activity.appusage``), all in one transaction: a worker killed mid-merge
leaves the rows in the inbox, nothing half-merged and nothing twice."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import structlog
from django.db import connection, transaction

from activity import partitions
from activity.appusage import Beat, appusage_merge
from activity.schema import MAX_PULSETIME

logger = structlog.get_logger(__name__)
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
        # Over the rows this claim takes, not the device's whole backlog (an import's million).
        cursor.execute(
            'SELECT max(id), min("timestamp"), max("timestamp" + duration * interval \'1 second\') FROM ('
            '    SELECT id, "timestamp", duration FROM sync_heartbeatinbox'
            "    WHERE user_id = %s AND device_id = %s ORDER BY id LIMIT %s"
            ") AS claim",
            [user_id, device_id, CLAIM_BATCH],
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
    return merge_round_robin(max_devices=max_devices)[0]


def merge_round_robin(*, max_devices: int = 1000, budget_seconds: float | None = None) -> tuple[int, bool]:
    """Merge the devices with pending heartbeats in rounds, one claim (up to CLAIM_BATCH) per
    device per round, so one device with a large backlog (an ActivityWatch import of years, a
    tracker back from weeks offline) delays every other device by one claim at most, not by
    its whole backlog. Stops after the round in which ``budget_seconds`` ran out (every round
    gives each device its claim); returns how many heartbeats were merged and whether devices
    may be left to merge (it stopped early, or it listed ``max_devices``, longest waiting first)."""
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    with connection.cursor() as cursor:
        # Oldest waiting first, so devices past max_devices get their turn in the next run.
        cursor.execute(
            "SELECT user_id, device_id FROM sync_heartbeatinbox GROUP BY user_id, device_id ORDER BY min(id) LIMIT %s",
            [max_devices],
        )
        devices = cursor.fetchall()
    unlisted = len(devices) == max_devices  # there may be more devices than were listed
    merged = 0
    while devices:
        left = []
        for user_id, device_id in devices:
            try:
                count = merge_device(user_id, device_id)
            except Exception:  # one device's failure (its rows stay in the inbox) never stops the others'
                logger.exception("heartbeat_merge_failed", user_id=str(user_id), device_id=device_id)
                continue
            merged += count or 0
            if count == CLAIM_BATCH:  # a full claim: more may be waiting
                left.append((user_id, device_id))
        devices = left
        if devices and deadline is not None and time.monotonic() >= deadline:
            return merged, True
    return merged, unlisted
