"""The feeder's bookkeeping of endpoints (docs/webhooks.md): the fields it writes, the
per-process list of companies with an endpoint that the after-commit kick checks, switching off
an endpoint that has failed for ``WEBHOOK_DISABLE_AFTER_DAYS`` (and emailing its owners), and
purging old delivery rows."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit import recording
from common.representation import utc_iso
from integrations.models import WebhookDelivery, WebhookEndpoint
from organizations.models import Membership, Role

logger = structlog.get_logger(__name__)


def set_endpoint(endpoint: WebhookEndpoint, **fields) -> None:
    """Write only the feeder's fields (a PATCH of url or events meanwhile is kept)."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields, updated_at=timezone.now())


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


def disable(endpoint: WebhookEndpoint, *, head_pk: UUID, now: datetime) -> None:
    assert endpoint.failing_since is not None
    reason = (
        f"Every delivery failed from {utc_iso(endpoint.failing_since)} to {utc_iso(now)} "
        f"({settings.WEBHOOK_DISABLE_AFTER_DAYS:g} days): switched off automatically."
    )[:200]
    set_endpoint(endpoint, active=False, disabled_at=now, disabled_reason=reason)
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
