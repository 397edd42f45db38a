"""The change-log feeder (SPEC "Webhooks", docs/webhooks.md): every company event an endpoint
subscribes to, delivered at least once, in change-log (cursor) order per endpoint.

Per endpoint the work is a series of steps, each one transaction holding the endpoint's
transaction-level advisory lock (``pg_try_advisory_xact_lock``: released by COMMIT or by the
connection dying, so it survives PgBouncer transaction pooling and a killed worker). A step
does one of two things:

- **make**: the next ``BATCH`` subscribed changes after the cursor become PENDING delivery rows
  in one ``INSERT ... SELECT`` from the change log (the body built by PostgreSQL), committed
  before anything is sent, so a ``webhook-id`` is fixed once and survives any crash;
- **send**: the rows ahead of the cursor go out in order over ONE keep-alive connection to the
  address the SSRF check approved for this step, one request at a time, until the first
  failure, ``BATCH`` rows or ``SEND_BUDGET_SECONDS``; then every outcome is written in one
  ``UPDATE ... FROM unnest(...)`` and the cursor in another. A worker killed mid-step rolls it
  all back: the rows are sent again, in order, with the same ``webhook-id`` (at least once).

Another feeder of the same endpoint finds the lock taken and leaves: one request in flight per
endpoint, and a slow endpoint only ever holds its own lock (and one worker slot).

``endpoint.cursor``: every change up to it was delivered, given up, or not subscribed to. The
delivery rows ahead of it, in cursor order, are the endpoint's queue; the first one not
SUCCEEDED is its head, and nothing behind the head is sent before it succeeds or is given up
(the SPEC's order). A failed head waits ``WEBHOOK_RETRY_SCHEDULE``; after its last attempt it
is given up and the cursor moves past it.

Here: the steps' loop, the lock and which endpoints to feed. The make step is ``make_step``, the
send step ``send_step`` (through ``sender``); the endpoints' bookkeeping (the feeder's fields,
switching off, purging) ``upkeep``."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from changelog.models import Change
from common.redis import get_client, key
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks.make_step import log_head, make_deliveries
from integrations.webhooks.send_step import read_payloads, rows_ahead, send_run, settle
from integrations.webhooks.upkeep import set_endpoint

LOCK_CLASS = 0x57484B  # "WHK": the first key of the two-key advisory lock; the endpoint's id the second
STEP_BUDGET_SECONDS = 2.0  # a feed call then hands over (re-queued) so endpoints share the workers


class Step(enum.Enum):
    MORE = "more"  # did something; there may be more
    IDLE = "idle"  # nothing to send
    WAITING = "waiting"  # the head waits for its next attempt
    BUSY = "busy"  # another feeder holds the endpoint


def _lock_key(endpoint_id: UUID) -> int:
    low = endpoint_id.int & 0xFFFFFFFF  # uuid7's low bits are random
    return low - (1 << 32) if low >= 1 << 31 else low  # PostgreSQL's int4


def _try_lock(endpoint_id: UUID) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_CLASS, _lock_key(endpoint_id)])
        return cursor.fetchone()[0]


def _again_key(endpoint_id: UUID) -> str:
    return key("webhooks", "again", str(endpoint_id))


def step(endpoint_id: UUID, *, on_locked: Callable[[], object] | None = None) -> Step:
    """One transaction of feeding ``endpoint_id``: see the module's docstring."""
    with transaction.atomic():
        if not _try_lock(endpoint_id):
            return Step.BUSY
        if on_locked is not None:
            on_locked()
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None or not endpoint.active:
            return Step.IDLE
        now = timezone.now()
        if endpoint.cursor is None:  # made before the feeder existed: from the head on
            set_endpoint(endpoint, cursor=log_head())
            return Step.MORE
        ahead = rows_ahead(endpoint)
        if not ahead:
            return Step.MORE if make_deliveries(endpoint, now) else Step.IDLE
        done = 0
        while done < len(ahead) and ahead[done].status == DeliveryStatus.SUCCEEDED:
            done += 1  # succeeded outside the feeder (a redelivery)
        if done:
            set_endpoint(endpoint, cursor=ahead[done - 1].cursor)
        if done == len(ahead):
            return Step.MORE
        head = ahead[done]
        if head.next_attempt_at is not None and head.next_attempt_at > now:
            return Step.WAITING
        read_payloads(endpoint, ahead[done:])
        sent = send_run(endpoint, ahead[done:])
        settle(endpoint, sent, timezone.now())
        return Step.MORE


def feed(endpoint_id: UUID, *, budget_seconds: float = STEP_BUDGET_SECONDS) -> bool:
    """Feed ``endpoint_id`` until it has nothing due, or for ``budget_seconds``; True when
    work remains (the caller queues another run). Every call first raises a flag that the lock
    holder clears at each step and reads before it stops: a call that finds the endpoint busy
    is never lost to the race between the holder's last look and its release."""
    redis = get_client()
    again = _again_key(endpoint_id)
    redis.set(again, 1, ex=60)
    deadline = time.monotonic() + budget_seconds
    while True:
        result = step(endpoint_id, on_locked=lambda: redis.delete(again))
        if result in (Step.BUSY, Step.WAITING):
            return False  # the holder looks again; a waiting head is the beat's to wake
        if result is Step.IDLE and not redis.exists(again):
            return False
        if time.monotonic() > deadline:
            return True


def endpoints_to_feed(*, company_ids: list[str] | None = None) -> list[UUID]:
    """Active endpoints with something to do: behind the log, or a delivery due. With
    ``company_ids`` (a kick after a commit), those companies' active endpoints."""
    qs = WebhookEndpoint.objects.filter(active=True)
    if company_ids is not None:
        return list(qs.filter(company_id__in=company_ids).values_list("pk", flat=True))
    now = timezone.now()
    ahead = WebhookDelivery.objects.filter(
        endpoint=OuterRef("pk"), event_id__isnull=False, cursor__gt=OuterRef("cursor")
    ).exclude(status=DeliveryStatus.SUCCEEDED)
    # Only a failed head has its next attempt in the future: such an endpoint sleeps till then,
    # whatever else is due or new behind it.
    waiting = ahead.filter(next_attempt_at__gt=now)
    due = ahead.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    behind = Change.objects.filter(company_id=OuterRef("company_id"), cursor__gt=OuterRef("cursor"))
    wake = Q(cursor__isnull=True) | (~Exists(waiting) & (Exists(due) | Exists(behind)))
    return list(qs.filter(wake).values_list("pk", flat=True))
