from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import AuditEntry
from common.query import LATEST_DATE

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
