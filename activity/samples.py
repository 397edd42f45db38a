"""Activity samples (SPEC: Sync, ``POST /sync/activity``): how active a member was each
minute, upserted per user, device and minute. The body is ``activity.schema.ACTIVITY_BATCH``."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from activity.schema import ACTIVITY_BATCH
from common.models import uuid7
from organizations.models import Membership

_UPSERT_SAMPLES = """
INSERT INTO tracking_activitysample
    (id, created_at, updated_at, company_id, user_id, device_id, minute, keyboard, mouse, active_seconds)
SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::timestamptz[], %s::uuid[], %s::uuid[], %s::varchar[],
                     %s::timestamptz[], %s::integer[], %s::integer[], %s::smallint[])
ON CONFLICT (user_id, device_id, minute) DO UPDATE SET
    keyboard = EXCLUDED.keyboard, mouse = EXCLUDED.mouse, active_seconds = EXCLUDED.active_seconds,
    updated_at = EXCLUDED.updated_at, company_id = EXCLUDED.company_id
"""


def samples_parse(data, *, now: datetime) -> tuple[str, list[dict]]:
    """``{device_id, samples: [{minute, keyboard, mouse, active_seconds}]}``, validated whole;
    minutes are truncated to the minute, and a minute sent twice keeps its last sample."""
    body = ACTIVITY_BATCH.parse(data, now=now)
    by_minute: dict[datetime, dict] = {}
    for sample in body["samples"]:
        minute = sample["minute"].replace(second=0, microsecond=0)
        by_minute[minute] = {**sample, "minute": minute}
    return body["device_id"], list(by_minute.values())


def activity_accept(*, membership: Membership, data) -> int:
    """Upsert per-minute samples of ``membership``'s user (a resent minute replaces the
    stored one: the client's count for a minute is the whole minute's); returns how many."""
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
