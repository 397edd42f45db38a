"""Webhooks (SPEC "Webhooks", docs/webhooks.md): a company's endpoints and the log of what was
sent to them. The audit log's own table lives in ``audit``; this app only serves it."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db import models

from common.models import BaseModel, uuid7
from organizations.models import Company


class WebhookEndpoint(BaseModel):
    """A URL a company asked to be told about its events. ``secret`` is kept as used: the server
    must read it to sign every delivery (a hash would not do); the API shows it once, when it
    is made (create, rotate-secret). During a rotation ``previous_secret`` signs too, until
    ``previous_secret_expires_at``."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # event names from changelog.catalogue, or ["*"]
    description = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # For the change-log feeder (webhooks/feeder.py): every change up to ``cursor`` was
    # delivered, given up or not subscribed to (null: made before the feeder; it starts at the
    # head), since when it has been failing, and when and why it was switched off for failing.
    cursor = models.BigIntegerField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta(BaseModel.Meta):
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["company", "created_at", "id"], name="integ_webhook_company_at")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def webhook_message_id(value: UUID | None = None) -> str:
    """The ``webhook-id`` (``msg_`` + a time-ordered id; the feeder passes the row's own id):
    one per event per endpoint, the same on every retry and redelivery, so receivers can
    de-duplicate."""
    return f"msg_{(value or uuid7()).hex}"


class WebhookDelivery(models.Model):
    """One event for one endpoint and what became of its last attempt."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField(null=True, blank=True)  # the change-log row's id; null for `test`
    # The change's cursor: the feeder's order (change-log order), and how it knows which
    # deliveries are still ahead of the endpoint's ``cursor``. Null for `test`.
    cursor = models.BigIntegerField(null=True, blank=True)
    webhook_id = models.CharField(max_length=40, default=webhook_message_id, editable=False)
    type = models.CharField(max_length=40)
    payload = models.JSONField()  # the exact {type, timestamp, data} sent, so a redelivery is byte-identical
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # its first 1 KB
    error = models.CharField(max_length=300, blank=True)  # why no answer was had (timeout, refused address...)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["endpoint", "created_at", "id"], name="integ_delivery_endpoint_at"),
            models.Index(fields=["endpoint", "cursor"], name="integ_delivery_endpoint_cursor"),
            models.Index(fields=["created_at"], name="integ_delivery_created_at"),  # the purge
        ]
        constraints = [
            # One delivery per event per endpoint: a feeder run twice (a duplicate task, a
            # worker killed mid-step) never makes a second row, so the webhook-id stays one.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"],
                condition=models.Q(event_id__isnull=False),
                name="integ_delivery_endpoint_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id} {self.status}"
