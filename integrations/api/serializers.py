from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import AuditEntry
from common.query import LATEST_DATE
from integrations.models import WebhookDelivery, WebhookEndpoint
from organizations.api.scoping import CompanyScopedInput

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@extend_schema_field(OpenApiTypes.STR)
class DayOrTimeField(serializers.Field):
    """A plain date (a whole UTC day) or an RFC 3339 time; ``bound`` says which end of the day
    a date stands for: ``from=2026-01-05`` is its first instant, ``to=2026-01-05`` its last
    (exclusive: the next midnight), so a one-day range is ``from=D&to=D``."""

    default_error_messages = {"invalid": "A date (YYYY-MM-DD) or an RFC 3339 time."}

    def __init__(self, *, bound: str, **kwargs):
        self.bound = bound
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        if _DAY.match(data):
            try:
                day = date.fromisoformat(data)
            except ValueError:
                self.fail("invalid")
            start = datetime.combine(day, time.min, tzinfo=UTC)
            if self.bound == "end" and day != LATEST_DATE:
                return start + timedelta(days=1)
            if self.bound == "end":  # its next midnight lies past the range every query keeps to
                return datetime.combine(day, time.max, tzinfo=UTC)
            return start
        return serializers.DateTimeField().to_internal_value(data)

    def to_representation(self, value):  # pragma: no cover - an input-only field
        return value


class AuditQuerySerializer(serializers.Serializer):
    """``GET /audit-log``'s filters; each malformed one is a 400 naming it."""

    mine = serializers.BooleanField(
        required=False, default=False, help_text="Only what others did to your data (any member may ask)."
    )
    actor = serializers.UUIDField(required=False, help_text="Who did it (a user id).")
    target_type = serializers.CharField(required=False, max_length=40, help_text="e.g. time_entry, membership.")
    target_id = serializers.CharField(required=False, max_length=64)
    action = serializers.CharField(required=False, max_length=64, help_text="e.g. membership.role_changed.")
    to = DayOrTimeField(bound="end", required=False, help_text="Up to (a date: through that UTC day).")

    def get_fields(self):
        # "from" is a Python keyword: declared here, not as an attribute.
        return {
            "from": DayOrTimeField(bound="start", required=False, help_text="From (a date: its first instant, UTC)."),
            **super().get_fields(),
        }

    def validate(self, attrs):
        first, last = attrs.get("from"), attrs.get("to")
        if first is not None and last is not None and first > last:
            raise serializers.ValidationError({"to": ["Must be on or after from."]})
        return attrs


class AuditActorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.CharField()


class AuditEntrySerializer(serializers.ModelSerializer):
    """SPEC's row: who (as they were called then), what, to which object, how, from where."""

    actor = serializers.SerializerMethodField()
    changes = serializers.DictField(
        child=serializers.ListField(), help_text="{field: [before, after]}; empty for a read (a view, a download)."
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "target_type", "target_id", "changes", "ip", "request_id"]
        read_only_fields = fields

    @extend_schema_field(AuditActorSerializer(allow_null=True))
    def get_actor(self, entry: AuditEntry) -> dict | None:
        if entry.actor_id is None:  # the system: a task, a command
            return None
        return {"id": str(entry.actor_id), "name": entry.actor_name, "email": entry.actor_email}


# --------------------------------------------------------------------------- webhooks


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as read back: never its secret (shown once, by create and rotate-secret)."""

    company_id = serializers.UUIDField(read_only=True)
    events = serializers.ListField(child=serializers.CharField(), help_text='Event names, or ["*"] for all.')
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="During a rotation: until when the previous secret signs too."
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "company_id", "url", "events", "description", "active", "disabled_at", "disabled_reason",
            "previous_secret_expires_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_ + base64: shown this once; keep it to verify signatures.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(CompanyScopedInput):
    url = serializers.CharField(max_length=2000, help_text="https (public addresses only; see docs/webhooks.md).")
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=50, help_text='Event names, or ["*"] for all.'
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WebhookEndpointUpdateSerializer(WebhookEndpointCreateSerializer):
    company_id = None  # type: ignore[assignment]  # DRF drops a declared field set to None
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """SPEC's row, plus ``webhook_id`` (what the receiver saw: the same on every attempt) and
    ``error`` (why the last attempt got no acceptable answer, in words: a timeout, a refused
    address, a redirect; empty on success)."""

    at = serializers.DateTimeField(source="created_at", read_only=True, help_text="When the event was queued.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "status",
            "attempts",
            "response_status",
            "response_ms",
            "next_attempt_at",
            "at",
            "webhook_id",
            "error",
        ]
        read_only_fields = fields
