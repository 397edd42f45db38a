"""The change-log feeder (SPEC "Webhooks", docs/webhooks.md): every company event an endpoint
subscribes to, delivered at least once, in change-log (cursor) order per endpoint.

Per endpoint the work is a series of small steps, each one transaction holding the endpoint's
transaction-level advisory lock (``pg_try_advisory_xact_lock``: released by COMMIT or by the
connection dying, so it survives PgBouncer transaction pooling and a killed worker). One step
does one thing: create the delivery rows of the next changes (committed before anything is
sent, so a ``webhook-id`` is fixed once and survives any crash), or one attempt at the head
delivery. Another feeder of the same endpoint finds the lock taken and leaves: one delivery in
flight per endpoint, and a slow endpoint only ever holds its own lock.

``endpoint.cursor``: every change up to it was delivered, given up, or not subscribed to. The
delivery rows ahead of it, in cursor order, are the endpoint's queue; the first one not
SUCCEEDED is its head, and nothing behind the head is sent before it succeeds or is given up
(the SPEC's order). A failed head waits ``WEBHOOK_RETRY_SCHEDULE``; after its last attempt it
is given up and the cursor moves past it."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from audit import recording
from changelog import catalogue
from changelog.models import Change, SyncState
from common import metrics
from common.redis import get_client, key
from common.representation import utc_iso
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import sender
from organizations.models import Membership, Role

logger = structlog.get_logger(__name__)

LOCK_CLASS = 0x57484B  # "WHK": the first key of the two-key advisory lock; the endpoint's id the second
BATCH = 200  # changes made into deliveries per step
STEP_BUDGET_SECONDS = 5.0  # a feed call then hands over (re-queued) so endpoints share the workers


class Step(enum.Enum):
    MORE = "more"  # did something; there may be more
    IDLE = "idle"  # nothing to send
    WAITING = "waiting"  # the head waits for its next attempt
    BUSY = "busy"  # another feeder holds the endpoint


def deliverable_events() -> tuple[str, ...]:
    """The change log's company events: everything logged and not private to one user
    (``report.ready``, ``sync.applied``); presence is never logged."""
    return tuple(e.name for e in catalogue.EVENTS if e.logged and e.audience is not catalogue.Audience.PRIVATE)


def _lock_key(endpoint_id: UUID) -> int:
    low = endpoint_id.int & 0xFFFFFFFF  # uuid7's low bits are random
    return low - (1 << 32) if low >= 1 << 31 else low  # PostgreSQL's int4


def _try_lock(endpoint_id: UUID) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_CLASS, _lock_key(endpoint_id)])
        return cursor.fetchone()[0]


def _again_key(endpoint_id: UUID) -> str:
    return key("webhooks", "again", str(endpoint_id))


def _log_head() -> int:
    state = SyncState.objects.filter(pk=1).first()
    return state.head if state else 0


def start_cursor() -> int:
    """Where a new endpoint starts: the log's head (it hears of changes from its creation on)."""
    return _log_head()


def _subscribed(endpoint: WebhookEndpoint) -> list[str]:
    deliverable = deliverable_events()
    if "*" in endpoint.events:
        return list(deliverable)
    return [e for e in endpoint.events if e in deliverable]


def _payload(change: Change) -> dict:
    return {"type": change.event, "timestamp": utc_iso(change.at), "data": change.payload}


def _set_endpoint(endpoint: WebhookEndpoint, **fields) -> None:
    """Write only the feeder's fields (a PATCH of url or events meanwhile is kept)."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields, updated_at=timezone.now())


def _make_deliveries(endpoint: WebhookEndpoint, now: datetime) -> Step:
    """The next subscribed changes after the cursor become PENDING deliveries (committed with
    this step); with none, the cursor moves to the head (nothing in between concerns it)."""
    head = _log_head()
    changes = list(
        Change.objects.filter(
            company_id=endpoint.company_id,
            cursor__gt=endpoint.cursor,
            cursor__lte=head,  # numbered in one statement with the head: all committed
            event__in=_subscribed(endpoint),
        ).order_by("cursor")[:BATCH]
    )
    if not changes:
        if head > (endpoint.cursor or 0):
            _set_endpoint(endpoint, cursor=head)
        return Step.IDLE
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=c.id,
                cursor=c.cursor,
                type=c.event,
                payload=_payload(c),
                next_attempt_at=now,
            )
            for c in changes
        ],
        ignore_conflicts=True,  # the unique (endpoint, event_id): an existing row keeps its webhook-id
    )
    return Step.MORE


def _lag_seconds(delivery: WebhookDelivery, now: datetime) -> float | None:
    try:
        committed = datetime.fromisoformat(delivery.payload["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    return max((now - committed).total_seconds(), 0.0)


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    """One attempt at the head, and what follows from it: the cursor, the retry, the failing
    clock, and switching the endpoint off after ``WEBHOOK_DISABLE_AFTER_DAYS`` of failure."""
    delivery.endpoint = endpoint
    sender.send(delivery)
    now = timezone.now()
    if delivery.status == DeliveryStatus.SUCCEEDED:
        metrics.WEBHOOK_DELIVERIES.labels(outcome="succeeded").inc()
        lag = _lag_seconds(delivery, now)
        if lag is not None:
            metrics.WEBHOOK_LAG_SECONDS.observe(lag)
        _set_endpoint(endpoint, cursor=delivery.cursor, failing_since=None)
        return
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    failing_since = endpoint.failing_since or now
    fields: dict = {"failing_since": failing_since}
    if delivery.attempts <= len(schedule):
        metrics.WEBHOOK_DELIVERIES.labels(outcome="failed").inc()
        delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
    else:  # its last attempt: given up, the endpoint's later events go next
        metrics.WEBHOOK_DELIVERIES.labels(outcome="given_up").inc()
        logger.warning("webhook_given_up", delivery_id=str(delivery.pk), endpoint_id=str(endpoint.pk))
        fields["cursor"] = delivery.cursor
    _set_endpoint(endpoint, **fields)
    if now - failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        _disable(endpoint, head=delivery, now=now)


def _disable(endpoint: WebhookEndpoint, *, head: WebhookDelivery, now: datetime) -> None:
    assert endpoint.failing_since is not None
    reason = (
        f"Every delivery failed from {utc_iso(endpoint.failing_since)} to {utc_iso(now)} "
        f"({settings.WEBHOOK_DISABLE_AFTER_DAYS:g} days): switched off automatically."
    )[:200]
    _set_endpoint(endpoint, active=False, disabled_at=now, disabled_reason=reason)
    if head.next_attempt_at is not None:  # turned back on, the head is due at once
        head.next_attempt_at = None
        head.save(update_fields=["next_attempt_at", "updated_at"])
    recording.record_of(
        endpoint,
        "webhook_endpoint",
        "disabled",
        actor=None,  # the system
        changes={"active": [True, False], "disabled_reason": ["", reason]},
    )
    logger.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint.pk))
    endpoint_id = endpoint.pk
    transaction.on_commit(lambda: _email_owners(endpoint_id))


def _email_owners(endpoint_id: UUID) -> None:
    """After commit (as the timesheet rejection email); a mail failure undoes nothing."""
    endpoint = WebhookEndpoint.objects.select_related("company").filter(pk=endpoint_id).first()
    if endpoint is None:
        return
    owners = list(
        Membership.objects.filter(company_id=endpoint.company_id, role=Role.OWNER, is_active=True)
        .select_related("user")
        .values_list("user__email", flat=True)
    )
    if not owners:
        return
    try:
        send_mail(
            subject=f"Webhook endpoint disabled in {endpoint.company.name}",
            message=(
                f"Stint stopped sending events to the webhook endpoint {endpoint.url} "
                f"({endpoint.description or 'no description'}) in {endpoint.company.name}.\n\n"
                f"{endpoint.disabled_reason}\n\n"
                "Its delivery log says why each attempt failed. Once the receiver answers 2xx again, "
                "turn the endpoint back on (active: true): it resumes with the first event it missed.\n"
            ),
            from_email=None,
            recipient_list=owners,
        )
    except Exception:
        logger.exception("webhook_disabled_email_failed", endpoint_id=str(endpoint_id))


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
            _set_endpoint(endpoint, cursor=_log_head())
            return Step.MORE
        ahead = list(
            WebhookDelivery.objects.filter(endpoint=endpoint, event_id__isnull=False, cursor__gt=endpoint.cursor)
            .order_by("cursor")
            .only("id", "cursor", "status")[:BATCH]
        )
        done = None
        head = None
        for delivery in ahead:
            if delivery.status != DeliveryStatus.SUCCEEDED:
                head = delivery
                break
            done = delivery.cursor  # succeeded outside the feeder (a redelivery)
        if done is not None:
            _set_endpoint(endpoint, cursor=done)
        if head is None:
            return Step.MORE if ahead else _make_deliveries(endpoint, now)
        head = WebhookDelivery.objects.get(pk=head.pk)
        if head.next_attempt_at is not None and head.next_attempt_at > now:
            return Step.WAITING
        _attempt(endpoint, head)
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


def purge(*, batch: int = 1000) -> int:
    """Delivery rows older than ``WEBHOOK_DELIVERY_RETENTION_DAYS``, in batches; never one
    still ahead of its endpoint's cursor (not delivered yet: an endpoint switched off)."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    old = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(
        event_id__isnull=False, cursor__gt=F("endpoint__cursor")
    )
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]
