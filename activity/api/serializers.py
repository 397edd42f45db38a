"""Activity endpoints' shapes: privacy rules (validated here), and the heartbeat and sample
batches (validated by activity.heartbeats; these only document them in the schema)."""

from __future__ import annotations

from rest_framework import serializers

from activity.models import PrivacyAction, PrivacyField, PrivacyRule
from organizations.api.scoping import CompanyScopedInput


class PrivacyRuleSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = PrivacyRule
        fields = ["id", "company_id", "field", "pattern", "action", "created_at", "updated_at"]
        read_only_fields = fields


class PrivacyRuleWriteSerializer(CompanyScopedInput):
    field = serializers.ChoiceField(choices=PrivacyField.choices)
    pattern = serializers.CharField(
        max_length=500,
        help_text="An RE2 regular expression (no backreferences or lookaround), searched case-insensitively.",
    )
    action = serializers.ChoiceField(choices=PrivacyAction.choices)


class PrivacyRuleUpdateSerializer(PrivacyRuleWriteSerializer):
    company_id = None
    field = serializers.ChoiceField(choices=PrivacyField.choices, required=False)
    pattern = serializers.CharField(max_length=500, required=False)
    action = serializers.ChoiceField(choices=PrivacyAction.choices, required=False)


# Heartbeats are validated by activity.heartbeats (plain Python: the hottest path); these
# serializers only document the shapes in the OpenAPI schema.
class HeartbeatSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    duration = serializers.FloatField(min_value=0, max_value=24 * 3600)
    app = serializers.CharField(max_length=255)
    title = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    url = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    project_id = serializers.UUIDField(required=False, allow_null=True)


class HeartbeatBatchSerializer(serializers.Serializer):
    device_id = serializers.CharField(max_length=100)
    pulsetime = serializers.FloatField(min_value=0, max_value=3600, required=False)
    heartbeats = HeartbeatSerializer(many=True, max_length=1000)


class CompanyQuerySerializer(serializers.Serializer):
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class ActivitySampleSerializer(serializers.Serializer):
    minute = serializers.DateTimeField(help_text="Truncated to the minute.")
    keyboard = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    mouse = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    active_seconds = serializers.IntegerField(min_value=0, max_value=60, default=0)


class ActivityBatchSerializer(serializers.Serializer):
    device_id = serializers.CharField(max_length=100)
    samples = ActivitySampleSerializer(many=True, max_length=1000)
