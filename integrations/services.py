"""Webhook endpoints' rules (SPEC "Webhooks", docs/webhooks.md): which URLs and events, the
secret and its rotation, the `test` event and redelivery. Views and the admin call these;
nothing else writes an endpoint. Each change is audited in its own transaction, without the
secret (docs/audit.md)."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import recording
from common.exceptions import InvalidInput
from common.representation import utc_iso
from integrations import tasks
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import sender, ssrf, upkeep
from integrations.webhooks.make_step import deliverable_events, start_cursor
from organizations import plans
from organizations.models import Company

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.models import User

ALL_EVENTS = "*"
TEST_EVENT = "test"  # sent on request only; not a change-log event, never subscribed to
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret keeps signing this long
AUDITED_FIELDS = ("url", "events", "description", "active")  # never the secrets


_DELIVERABLE: frozenset[str] | None = None


def kick_feeders(*, changes: list, **_: object) -> None:
    """``changes_published`` receiver, in the process that published (often the writer's own
    request, after its commit): one message to the webhooks queue naming the companies with
    deliverable changes and an active endpoint (a per-process list, ``upkeep``'s, at most 5 s
    old: usually no query); ``tasks.webhook_dispatch`` finds their endpoints."""
    global _DELIVERABLE
    if _DELIVERABLE is None:
        _DELIVERABLE = frozenset(deliverable_events())
    changed = {str(c.company_id) for c in changes if c.event in _DELIVERABLE}
    companies = sorted(changed & upkeep.companies_with_endpoints()) if changed else []
    if companies:
        tasks.webhook_dispatch.apply_async(args=[companies], queue=settings.CELERY_WEBHOOK_QUEUE)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def checked_url(url: str) -> str:
    try:
        ssrf.check(url)
    except ssrf.UnsafeURL as exc:
        raise InvalidInput(str(exc), code="unsafe_url", attr="url") from None
    return url


def checked_events(events: list[str]) -> list[str]:
    if not events:
        raise InvalidInput('Name at least one event, or ["*"] for all of them.', code="invalid", attr="events")
    if ALL_EVENTS in events:
        if len(events) > 1:
            raise InvalidInput('"*" already means every event: send it alone.', code="invalid", attr="events")
        return [ALL_EVENTS]
    known = set(deliverable_events())
    unknown = sorted({e for e in events if e not in known})
    if unknown:
        raise InvalidInput(
            f"Not a webhook event: {', '.join(unknown)}. Events: {', '.join(deliverable_events())}, or *.",
            code="invalid",
            attr="events",
        )
    return list(dict.fromkeys(events))  # without repeats, in the order given


def endpoints_count(company_id: UUID) -> int:
    """What the plan's ``webhooks`` limit counts: the company's endpoints, active or not."""
    return WebhookEndpoint.objects.filter(company_id=company_id).count()


def _audit(endpoint: WebhookEndpoint, *, verb: str, actor: User | None, changes: dict) -> None:
    recording.record_of(endpoint, "webhook_endpoint", verb, actor=actor, changes=changes)


@transaction.atomic
def endpoint_create(
    *, company: Company, url: str, events: list[str], description: str = "", actor: User | None = None
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows it once). It starts at the change
    log's head: it hears of changes from its creation on."""
    plans.check(company, plans.WEBHOOKS)  # 402 past the plan's endpoints, under the company's lock
    endpoint = WebhookEndpoint.objects.create(
        company=company,
        url=checked_url(url),
        events=checked_events(events),
        description=description,
        secret=new_secret(),
        created_by=actor,
        cursor=start_cursor(),
    )
    transaction.on_commit(upkeep.forget_companies_with_endpoints)
    _audit(
        endpoint, verb="created", actor=actor, changes=recording.diff({}, recording.snapshot(endpoint, AUDITED_FIELDS))
    )
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, data: dict, actor: User | None = None) -> WebhookEndpoint:
    """``url``, ``events``, ``description``, ``active``. Turning an endpoint back on clears
    why it was off (its failures are forgotten: it gets a fresh 3 days)."""
    before = recording.snapshot(endpoint, AUDITED_FIELDS)
    if "url" in data and data["url"] != endpoint.url:
        endpoint.url = checked_url(data["url"])
    if "events" in data:
        endpoint.events = checked_events(data["events"])
    if "description" in data:
        endpoint.description = data["description"]
    fields = ["url", "events", "description", "active", "updated_at"]
    if "active" in data:
        if data["active"] and not endpoint.active:
            endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
            fields += ["disabled_at", "disabled_reason", "failing_since"]
            pk = endpoint.pk
            transaction.on_commit(upkeep.forget_companies_with_endpoints)
            transaction.on_commit(lambda: tasks.queue_feed(pk))  # resume with what it missed
        endpoint.active = data["active"]
    endpoint.save(update_fields=fields)
    changes = recording.diff(before, recording.snapshot(endpoint, AUDITED_FIELDS), AUDITED_FIELDS)
    if changes:
        _audit(endpoint, verb="updated", actor=actor, changes=changes)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User | None = None) -> None:
    """The endpoint and its delivery log go; the audit row says which it was."""
    before = recording.snapshot(endpoint, AUDITED_FIELDS)
    pk = endpoint.pk
    endpoint.delete()
    endpoint.pk = pk
    _audit(endpoint, verb="deleted", actor=actor, changes=recording.diff(before, {}, AUDITED_FIELDS))


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: User | None = None) -> WebhookEndpoint:
    """A new secret (the caller shows it once); the current one keeps signing beside it for
    24 h, so receivers can switch without losing an event. Rotating again during those 24 h
    drops the oldest: two secrets sign at most."""
    now = timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    # What changed, in words a log reader needs; never the secrets themselves.
    _audit(
        endpoint,
        verb="secret_rotated",
        actor=actor,
        changes={"previous_secret_expires_at": [None, utc_iso(endpoint.previous_secret_expires_at)]},
    )
    return endpoint


def endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `test` event now, inline, through the one sender, and answer with its logged
    delivery (the caller sees at once whether their receiver works). Sent to an inactive
    endpoint too: testing it is how one finds out it can be turned back on."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        type=TEST_EVENT,
        payload={
            "type": TEST_EVENT,
            "timestamp": utc_iso(now),
            "data": {"endpoint_id": str(endpoint.pk), "company_id": str(endpoint.company_id)},
        },
        next_attempt_at=now,
    )
    return sender.send(delivery)


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue one more attempt of ``delivery`` on the webhooks queue: the same payload and the
    same ``webhook-id``, so a receiver that already has it can tell. Answers the PENDING row."""
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    transaction.on_commit(
        lambda: tasks.webhook_deliver.apply_async(args=[str(delivery.pk)], queue=settings.CELERY_WEBHOOK_QUEUE)
    )
    return delivery
