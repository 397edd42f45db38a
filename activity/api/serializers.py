"""Activity endpoints' shapes: privacy rules (validated here), and the heartbeat and sample
batches (validated by activity.schema, from whose specs these document them in OpenAPI)."""

from __future__ import annotations

from django.utils.functional import lazy
from rest_framework import serializers

from activity.models import PrivacyAction, PrivacyField, PrivacyRule
from activity.schema import ACTIVITY_BATCH, HEARTBEAT_BATCH, Obj, serializer_for
from activity.services import MAX_PATTERN_LENGTH
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
        max_length=MAX_PATTERN_LENGTH,
        help_text="An RE2 regular expression (no backreferences or lookaround), searched case-insensitively.",
    )
    action = serializers.ChoiceField(choices=PrivacyAction.choices)


class PrivacyRuleUpdateSerializer(PrivacyRuleWriteSerializer):
    company_id = None  # type: ignore[assignment]  # DRF drops a declared field set to None
    field = serializers.ChoiceField(choices=PrivacyField.choices, required=False)
    pattern = serializers.CharField(max_length=MAX_PATTERN_LENGTH, required=False)
    action = serializers.ChoiceField(choices=PrivacyAction.choices, required=False)


# The tracker batches are validated by activity.schema (plain Python: the hottest path); these
# serializers are built from the same specs and only document them in the OpenAPI schema.
HeartbeatBatchSerializer = serializer_for(HEARTBEAT_BATCH)
ActivityBatchSerializer = serializer_for(ACTIVITY_BATCH)


def _too_many(body: Obj) -> str:
    name, items = body.items
    return f"More than {items.max_items:,} {name}"


# The 413's description, read from the schema when the OpenAPI schema is generated.
too_many = lazy(_too_many, str)


class CompanyQuerySerializer(serializers.Serializer):
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
