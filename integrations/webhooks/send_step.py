"""The feeder's *send* step (``feeder``'s docstring): the rows ahead of the cursor, sent in
order over one channel until the first failure, then every outcome written at once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from django.conf import settings
from django.utils import timezone

from common import metrics
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import sender
from integrations.webhooks.channel import Answer
from integrations.webhooks.make_step import BATCH, binding_cursor
from integrations.webhooks.upkeep import disable, set_endpoint

logger = structlog.get_logger(__name__)

SEND_BUDGET_SECONDS = 1.0  # a send step stops after this (a crash resends no more than that)


@dataclass
class Row:
    """A delivery ahead of the cursor, as much of it as a step needs."""

    pk: UUID
    cursor: int
    status: str
    attempts: int
    webhook_id: str
    next_attempt_at: datetime | None
    payload: dict = field(default_factory=dict)  # read only when it is to be sent


def rows_ahead(endpoint: WebhookEndpoint) -> list[Row]:
    rows = (
        WebhookDelivery.objects.filter(endpoint=endpoint, event_id__isnull=False, cursor__gt=endpoint.cursor)
        .order_by("cursor")
        .values_list("id", "cursor", "status", "attempts", "webhook_id", "next_attempt_at")[:BATCH]
    )
    # cursor > the endpoint's: never null here.
    return [Row(pk, cursor or 0, status, attempts, wid, at) for pk, cursor, status, attempts, wid, at in rows]


def read_payloads(endpoint: WebhookEndpoint, rows: list[Row]) -> None:
    """The bodies of a run about to be sent, in one query (a waiting head reads none)."""
    payloads = dict(
        WebhookDelivery.objects.filter(
            endpoint=endpoint, event_id__isnull=False, cursor__gte=rows[0].cursor, cursor__lte=rows[-1].cursor
        ).values_list("id", "payload")
    )
    for row in rows:
        row.payload = payloads[row.pk]


def _lag_seconds(payload: dict, now: datetime) -> float | None:
    try:
        committed = datetime.fromisoformat(payload["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    return max((now - committed).total_seconds(), 0.0)


_SETTLE_SQL = f"""
UPDATE {WebhookDelivery._meta.db_table} AS d SET
    attempts = v.attempts, status = v.status, response_status = v.response_status,
    response_ms = v.response_ms, response_body = v.response_body, error = v.error,
    next_attempt_at = v.next_attempt_at, updated_at = %s
FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::int[], %s::int[], %s::text[], %s::text[], %s::timestamptz[])
    AS v(id, attempts, status, response_status, response_ms, response_body, error, next_attempt_at)
WHERE d.id = v.id
"""


@dataclass
class Sent:
    row: Row
    got: Answer | None  # None: passed over (a redelivery had delivered it)
    lag: float | None = None  # seconds from the change's commit to the 2xx


def send_run(endpoint: WebhookEndpoint, rows: list[Row]) -> list[Sent]:
    """Send ``rows`` (the head first) in order over one channel until the first failure, the
    end of the run or the step's budget. The address is checked once, for this channel."""
    channel = sender.open_channel(endpoint)
    if isinstance(channel, str):  # refused (or unresolvable) now: the head fails, nothing else goes
        return [Sent(rows[0], sender.not_sent(channel))]
    sent: list[Sent] = []
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    with channel:
        for row in rows:
            if row.status == DeliveryStatus.SUCCEEDED:
                sent.append(Sent(row, None))
                continue
            got = channel.post(row.webhook_id, sender.body_bytes(row.payload))
            sent.append(Sent(row, got, _lag_seconds(row.payload, timezone.now()) if got.succeeded else None))
            if not got.succeeded or time.monotonic() > deadline:
                break
    return sent


def settle(endpoint: WebhookEndpoint, sent: list[Sent], now: datetime) -> None:
    """Write a send step's outcomes: the rows (one statement), the cursor past every success
    and a give-up, the retry of a failure, the failing clock, and switching the endpoint off
    after ``WEBHOOK_DISABLE_AFTER_DAYS`` of failure."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    columns: list[list] = [[] for _ in range(8)]
    cursor = endpoint.cursor
    failed: Sent | None = None  # the last attempt, when it failed
    succeeded = 0
    for one in sent:
        row, got = one.row, one.got
        if got is None:
            cursor = row.cursor
            continue
        attempts = row.attempts + 1
        next_attempt_at = None
        if got.succeeded:
            succeeded += 1
            cursor = row.cursor
            if one.lag is not None:
                metrics.WEBHOOK_LAG_SECONDS.observe(one.lag)
        elif attempts <= len(schedule):
            metrics.WEBHOOK_DELIVERIES.labels(outcome="failed").inc()
            next_attempt_at = now + timedelta(seconds=schedule[attempts - 1])
            failed = one
        else:  # its last attempt: given up, the endpoint's later events go next
            metrics.WEBHOOK_DELIVERIES.labels(outcome="given_up").inc()
            logger.warning("webhook_given_up", delivery_id=str(row.pk), endpoint_id=str(endpoint.pk))
            cursor = row.cursor
            failed = one
        status = DeliveryStatus.SUCCEEDED if got.succeeded else DeliveryStatus.FAILED
        values = (row.pk, attempts, status.value, got.status, got.ms, got.kept, got.error, next_attempt_at)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    if succeeded:
        metrics.WEBHOOK_DELIVERIES.labels(outcome="succeeded").inc(succeeded)
    if columns[0]:
        with binding_cursor() as db:
            db.execute(_SETTLE_SQL, [now, *columns], prepare=False)
    # The failing clock runs from the first failure since the last success (a run stops at
    # its first failure: only the last attempt can have failed).
    failing_since = None
    if failed is not None:
        failing_since = endpoint.failing_since if not succeeded and endpoint.failing_since else now
    if cursor != endpoint.cursor or failing_since != endpoint.failing_since:
        set_endpoint(endpoint, cursor=cursor, failing_since=failing_since)
    if failed is not None and failed.got is not None:
        logger.info(
            "webhook_failed", delivery_id=str(failed.row.pk), endpoint_id=str(endpoint.pk),
            response_status=failed.got.status, error=failed.got.error or None,
        )  # fmt: skip
        assert failing_since is not None
        if now - failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
            disable(endpoint, head_pk=failed.row.pk, now=now)
