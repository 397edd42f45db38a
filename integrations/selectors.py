"""Reads of the audit log (SPEC: "Timesheets, locked periods and the audit log") and of webhook
endpoints and their deliveries (SPEC: "Webhooks"), scoped by the caller's memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from audit.models import AuditEntry
from common.exceptions import PermissionDeniedError
from integrations.models import WebhookDelivery, WebhookEndpoint
from organizations import permissions
from organizations.models import Membership


@dataclass(frozen=True, kw_only=True)
class AuditFilters:
    """What ``audit_log_list`` narrows by; ``mine``: only what others did to the caller's data."""

    mine: bool = False
    actor: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    action: str | None = None
    at_from: datetime | None = None  # inclusive
    at_to: datetime | None = None  # exclusive


def audit_log_list(*, membership: Membership, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Newest first, always within ``membership``'s company. The whole company's rows for an
    OWNER or ADMIN; with ``mine``, for anyone, the rows about them (``subject_user_id``) made by
    someone else or by the system; the rows they wrote themselves are their own doing, not
    something done to them. Anything else is a 403 (the role table)."""
    qs = AuditEntry.objects.filter(company_id=membership.company_id)
    if filters.mine:
        # exclude(), not filter(actor_id__ne): it keeps the system's rows (actor_id NULL).
        qs = qs.filter(subject_user_id=membership.user_id).exclude(actor_id=membership.user_id)
    elif not permissions.can_read_audit_log(membership):
        raise PermissionDeniedError(
            "Only an OWNER or ADMIN reads the company's audit log; ask for your own with ?mine=true.",
            code="permission_denied",
        )
    if filters.actor is not None:
        qs = qs.filter(actor_id=filters.actor)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id:
        qs = qs.filter(target_id=filters.target_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.at_from is not None:
        qs = qs.filter(at__gte=filters.at_from)
    if filters.at_to is not None:
        qs = qs.filter(at__lt=filters.at_to)
    return qs.order_by("-at", "-id")


# --------------------------------------------------------------------------- webhooks


def webhook_endpoints_of(*, memberships: list[Membership]) -> QuerySet[WebhookEndpoint]:
    """Endpoints of the caller's companies, whatever their role there: another company's are
    absent (404); a MEMBER's or MANAGER's look-up finds their company's and is then refused
    (403, ``webhook_endpoint_list`` and the views ask ``permissions.can_manage_webhooks``)."""
    return WebhookEndpoint.objects.filter(company_id__in=[m.company_id for m in memberships])


def webhook_endpoint_list(*, membership: Membership) -> QuerySet[WebhookEndpoint]:
    """One company's endpoints, newest first, for its OWNERs and ADMINs; 403 for the rest."""
    if not permissions.can_manage_webhooks(membership):
        raise PermissionDeniedError("Only an OWNER or ADMIN manages the company's webhooks.", code="permission_denied")
    return WebhookEndpoint.objects.filter(company_id=membership.company_id).order_by("-created_at", "-id")


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first (the caller already may see the endpoint)."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
