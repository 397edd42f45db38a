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
is given up and the cursor moves past it."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
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
from common.models import uuid7
from common.redis import get_client, key
from common.representation import utc_iso
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, webhook_message_id
from integrations.webhooks import sender
from integrations.webhooks.channel import Answer
from organizations.models import Membership, Role

logger = structlog.get_logger(__name__)

LOCK_CLASS = 0x57484B  # "WHK": the first key of the two-key advisory lock; the endpoint's id the second
BATCH = 500  # changes made into deliveries, or deliveries sent, per step
SEND_BUDGET_SECONDS = 1.0  # a send step stops after this (a crash resends no more than that)
STEP_BUDGET_SECONDS = 2.0  # a feed call then hands over (re-queued) so endpoints share the workers


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


HOOKED_SECONDS = 5.0  # how stale this process's list of companies with endpoints may be
_hooked: tuple[float, frozenset[str]] = (0.0, frozenset())


def companies_with_endpoints() -> frozenset[str]:
    """The ids of the companies with an active endpoint, as this process read them at most
    ``HOOKED_SECONDS`` ago: what the after-commit kick checks, so a commit in a company with
    no endpoint (most of them) costs no message and no query. An endpoint made or turned on in
    another process is kicked once this expires; until then the beat's wake (5 s) feeds it."""
    global _hooked
    now = time.monotonic()
    if now >= _hooked[0]:
        ids = WebhookEndpoint.objects.filter(active=True).values_list("company_id", flat=True).distinct()
        _hooked = (now + HOOKED_SECONDS, frozenset(str(i) for i in ids))
    return _hooked[1]


def forget_companies_with_endpoints() -> None:
    """This process made or turned on an endpoint: read the list again at the next kick."""
    global _hooked
    _hooked = (0.0, frozenset())


def _subscribed(endpoint: WebhookEndpoint) -> list[str]:
    deliverable = deliverable_events()
    if "*" in endpoint.events:
        return list(deliverable)
    return [e for e in endpoint.events if e in deliverable]


def _set_endpoint(endpoint: WebhookEndpoint, **fields) -> None:
    """Write only the feeder's fields (a PATCH of url or events meanwhile is kept)."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields, updated_at=timezone.now())


# The body of every delivery of a change, built once by PostgreSQL from the change log row:
# {type, timestamp, data}, ``timestamp`` as common.representation.utc_iso writes ``Change.at``
# (UTC, "Z", six fraction digits unless whole seconds). ON CONFLICT: the unique (endpoint,
# event_id): an existing row (a step rerun after a crash) keeps its webhook-id.
_MAKE_SQL = f"""
WITH todo AS (
    SELECT c.id, c.cursor, c.event, c.payload, c.at AT TIME ZONE 'UTC' AS utc,
           row_number() OVER (ORDER BY c.cursor) AS n
    FROM {Change._meta.db_table} c
    WHERE c.company_id = %(company)s AND c.cursor > %(after)s AND c.cursor <= %(head)s
      AND c.event = ANY(%(events)s)
    ORDER BY c.cursor LIMIT %(limit)s
), made AS (
    INSERT INTO {WebhookDelivery._meta.db_table} AS d
        (id, endpoint_id, event_id, cursor, webhook_id, type, payload, status, attempts,
         response_body, error, next_attempt_at, created_at, updated_at)
    SELECT (%(ids)s::uuid[])[n], %(endpoint)s, id, cursor, (%(webhook_ids)s::text[])[n], event,
           jsonb_build_object(
               'type', event,
               'timestamp', to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
                   || CASE WHEN date_trunc('second', utc) = utc THEN '' ELSE to_char(utc, '.US') END || 'Z',
               'data', payload),
           %(pending)s, 0, '', '', %(now)s, %(now)s, %(now)s
    FROM todo
    ON CONFLICT (endpoint_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM todo), (SELECT count(*) FROM made)
"""


def _binding_cursor() -> psycopg.Cursor:
    """A psycopg cursor binding parameters server-side, on Django's connection (so inside its
    transaction): hundreds of array elements go as binary, not quoted one by one into the SQL
    text as Django's client-side cursor does (a third of the statement's cost). With
    ``prepare=False``: nothing prepared, so PgBouncer's transaction pooling is fine."""
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, psycopg.Connection)
    return psycopg.Cursor(raw)


def _make_deliveries(endpoint: WebhookEndpoint, now: datetime) -> Step:
    """The next subscribed changes after the cursor become PENDING deliveries (committed with
    this step); with none, the cursor moves to the head (nothing in between concerns it)."""
    head = _log_head()
    after = endpoint.cursor or 0
    limit = max(0, min(BATCH, head - after))  # cursors are dense: no more rows than this
    found = 0
    if limit:
        ids = [uuid7() for _ in range(limit)]
        with _binding_cursor() as cursor:
            cursor.execute(
                _MAKE_SQL,
                {
                    "company": endpoint.company_id,
                    "after": after,
                    "head": head,  # numbered in one statement with the head: all committed
                    "events": _subscribed(endpoint),
                    "limit": limit,
                    "ids": ids,
                    "webhook_ids": [webhook_message_id(i) for i in ids],
                    "endpoint": endpoint.pk,
                    "pending": DeliveryStatus.PENDING.value,
                    "now": now,
                },
                prepare=False,
            )
            row = cursor.fetchone()
            assert row is not None
            found = row[0]
    if not found:
        if head > after:
            _set_endpoint(endpoint, cursor=head)
        return Step.IDLE
    return Step.MORE


def _lag_seconds(payload: dict, now: datetime) -> float | None:
    try:
        committed = datetime.fromisoformat(payload["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    return max((now - committed).total_seconds(), 0.0)


@dataclass
class _Row:
    """A delivery ahead of the cursor, as much of it as a step needs."""

    pk: UUID
    cursor: int
    status: str
    attempts: int
    webhook_id: str
    next_attempt_at: datetime | None
    payload: dict = field(default_factory=dict)  # read only when it is to be sent


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
class _Sent:
    row: _Row
    got: Answer | None  # None: passed over (a redelivery had delivered it)
    lag: float | None = None  # seconds from the change's commit to the 2xx


def _send_run(endpoint: WebhookEndpoint, rows: list[_Row]) -> list[_Sent]:
    """Send ``rows`` (the head first) in order over one channel until the first failure, the
    end of the run or the step's budget. The address is checked once, for this channel."""
    channel = sender.open_channel(endpoint)
    if isinstance(channel, str):  # refused (or unresolvable) now: the head fails, nothing else goes
        return [_Sent(rows[0], sender.not_sent(channel))]
    sent: list[_Sent] = []
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    with channel:
        for row in rows:
            if row.status == DeliveryStatus.SUCCEEDED:
                sent.append(_Sent(row, None))
                continue
            got = channel.post(row.webhook_id, sender.body_bytes(row.payload))
            sent.append(_Sent(row, got, _lag_seconds(row.payload, timezone.now()) if got.succeeded else None))
            if not got.succeeded or time.monotonic() > deadline:
                break
    return sent


def _settle(endpoint: WebhookEndpoint, sent: list[_Sent], now: datetime) -> None:
    """Write a send step's outcomes: the rows (one statement), the cursor past every success
    and a give-up, the retry of a failure, the failing clock, and switching the endpoint off
    after ``WEBHOOK_DISABLE_AFTER_DAYS`` of failure."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    columns: list[list] = [[] for _ in range(8)]
    cursor = endpoint.cursor
    failed: _Sent | None = None  # the last attempt, when it failed
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
        with _binding_cursor() as db:
            db.execute(_SETTLE_SQL, [now, *columns], prepare=False)
    # The failing clock runs from the first failure since the last success (a run stops at
    # its first failure: only the last attempt can have failed).
    failing_since = None
    if failed is not None:
        failing_since = endpoint.failing_since if not succeeded and endpoint.failing_since else now
    if cursor != endpoint.cursor or failing_since != endpoint.failing_since:
        _set_endpoint(endpoint, cursor=cursor, failing_since=failing_since)
    if failed is not None and failed.got is not None:
        logger.info(
            "webhook_failed", delivery_id=str(failed.row.pk), endpoint_id=str(endpoint.pk),
            response_status=failed.got.status, error=failed.got.error or None,
        )  # fmt: skip
        assert failing_since is not None
        if now - failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
            _disable(endpoint, head_pk=failed.row.pk, now=now)


def _disable(endpoint: WebhookEndpoint, *, head_pk: UUID, now: datetime) -> None:
    assert endpoint.failing_since is not None
    reason = (
        f"Every delivery failed from {utc_iso(endpoint.failing_since)} to {utc_iso(now)} "
        f"({settings.WEBHOOK_DISABLE_AFTER_DAYS:g} days): switched off automatically."
    )[:200]
    _set_endpoint(endpoint, active=False, disabled_at=now, disabled_reason=reason)
    # Turned back on, the head is due at once.
    WebhookDelivery.objects.filter(pk=head_pk).update(next_attempt_at=None, updated_at=now)
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


def _ahead(endpoint: WebhookEndpoint) -> list[_Row]:
    rows = (
        WebhookDelivery.objects.filter(endpoint=endpoint, event_id__isnull=False, cursor__gt=endpoint.cursor)
        .order_by("cursor")
        .values_list("id", "cursor", "status", "attempts", "webhook_id", "next_attempt_at")[:BATCH]
    )
    # cursor > the endpoint's: never null here.
    return [_Row(pk, cursor or 0, status, attempts, wid, at) for pk, cursor, status, attempts, wid, at in rows]


def _read_payloads(endpoint: WebhookEndpoint, rows: list[_Row]) -> None:
    """The bodies of a run about to be sent, in one query (a waiting head reads none)."""
    payloads = dict(
        WebhookDelivery.objects.filter(
            endpoint=endpoint, event_id__isnull=False, cursor__gte=rows[0].cursor, cursor__lte=rows[-1].cursor
        ).values_list("id", "payload")
    )
    for row in rows:
        row.payload = payloads[row.pk]


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
        ahead = _ahead(endpoint)
        if not ahead:
            return _make_deliveries(endpoint, now)
        done = 0
        while done < len(ahead) and ahead[done].status == DeliveryStatus.SUCCEEDED:
            done += 1  # succeeded outside the feeder (a redelivery)
        if done:
            _set_endpoint(endpoint, cursor=ahead[done - 1].cursor)
        if done == len(ahead):
            return Step.MORE
        head = ahead[done]
        if head.next_attempt_at is not None and head.next_attempt_at > now:
            return Step.WAITING
        _read_payloads(endpoint, ahead[done:])
        sent = _send_run(endpoint, ahead[done:])
        _settle(endpoint, sent, timezone.now())
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
