from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import validate_timezone
from common.fields import ClientUUIDField
from common.serializers import InputSerializer
from organizations.api.scoping import CompanyScopedInput
from tracking.models import (
    ENTRY_MAX_DURATION,
    BillingType,
    Task,
    TaskStatus,
    TimeEntry,
    TimesheetStatus,
)

MAX_SECONDS = 10**9
# The services hold the rule (ended_at and duration alike); this bound is for the schema.
MAX_ENTRY_SECONDS = int(ENTRY_MAX_DURATION.total_seconds())


# --------------------------------------------------------------------------- tasks


class TaskSerializer(serializers.ModelSerializer):
    project_id = serializers.UUIDField(read_only=True)
    parent_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "project_id",
            "parent_id",
            "title",
            "status",
            "position",
            "estimate_seconds",
            "billing_type",
            "hourly_rate_cents",
            "task_price_cents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskNodeSerializer(TaskSerializer):
    """A tree node: the task, its seconds (own, with descendants), estimates, and children."""

    own_seconds = serializers.IntegerField()
    total_seconds = serializers.IntegerField()
    total_estimate_seconds = serializers.IntegerField()
    children = serializers.SerializerMethodField()

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "own_seconds", "total_seconds", "total_estimate_seconds", "children"]
        read_only_fields = fields

    def to_representation(self, node: dict) -> dict:
        data = TaskSerializer(context=self.context).to_representation(node["task"])
        data.update(
            own_seconds=node["own_seconds"],
            total_seconds=node["total_seconds"],
            total_estimate_seconds=node["total_estimate_seconds"],
            children=[self.to_representation(child) for child in node["children"]],
        )
        return data

    # For the schema (a tree of TaskNodes, not of free-form objects); to_representation fills it.
    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/TaskNode"}})
    def get_children(self, node) -> list[dict]:
        return []


class TaskWriteSerializer(CompanyScopedInput):
    id = ClientUUIDField(required=False)
    project_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(required=False, allow_null=True)
    title = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    position = serializers.IntegerField(min_value=-(10**6), max_value=10**6, required=False)
    estimate_seconds = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)
    billing_type = serializers.ChoiceField(choices=BillingType.choices, required=False)
    hourly_rate_cents = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)
    task_price_cents = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)


class TaskUpdateSerializer(TaskWriteSerializer):
    # DRF drops a declared field set to None (the stubs know only fields there).
    project_id = None  # type: ignore[assignment]  # a task stays in its project
    id = None  # type: ignore[assignment]
    company_id = None  # type: ignore[assignment]
    title = serializers.CharField(max_length=255, required=False)


class TaskStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices)


# --------------------------------------------------------------------------- entries


class TimeEntrySerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    user_id = serializers.UUIDField(read_only=True)
    project_id = serializers.UUIDField(read_only=True)
    task_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = TimeEntry
        fields = [
            "id",
            "company_id",
            "user_id",
            "project_id",
            "task_id",
            "description",
            "started_at",
            "ended_at",
            "duration_seconds",
            "timezone",
            "billable",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TimerStartSerializer(CompanyScopedInput):
    id = ClientUUIDField(required=False)
    project_id = serializers.UUIDField()
    task_id = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField(required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class TimerStopSerializer(InputSerializer):
    ended_at = serializers.DateTimeField(required=False)


class TimerPauseSerializer(TimerStopSerializer):
    """A pause is a stop the server remembers: the same body."""


class TimerResumeSerializer(InputSerializer):
    """No fields: a resume copies everything from the paused entry and starts now."""


class EntryCreateSerializer(CompanyScopedInput):
    id = ClientUUIDField(required=False)
    project_id = serializers.UUIDField()
    task_id = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    duration_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_ENTRY_SECONDS, required=False, allow_null=True
    )
    billable = serializers.BooleanField(required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class EntryUpdateSerializer(EntryCreateSerializer):
    id = None  # type: ignore[assignment]  # DRF drops a declared field set to None
    company_id = None  # type: ignore[assignment]  # as above
    project_id = serializers.UUIDField(required=False)
    started_at = serializers.DateTimeField(required=False)


class EntryFilterSerializer(serializers.Serializer):
    """Query parameters of GET /time-entries (and /tasks/{id}/time-entries)."""

    to = serializers.DateTimeField(required=False)
    user = serializers.CharField(required=False, max_length=36)
    project = serializers.UUIDField(required=False)
    task = serializers.UUIDField(required=False)
    descendants = serializers.BooleanField(required=False, default=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)  # a keyword in Python
        return fields

    def validate_user(self, value: str) -> str | uuid.UUID:
        if value == "me":
            return value
        try:
            return serializers.UUIDField().to_internal_value(value)
        except serializers.ValidationError:
            raise serializers.ValidationError('Use "me" or a user id.') from None


# --------------------------------------------------------------------------- timesheets


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PersonSerializer(PersonRefSerializer):
    email = serializers.EmailField()


class TimesheetSerializer(serializers.Serializer):
    """A row of GET /timesheets (``tracking.selectors.timesheet_row``'s dicts): a member's
    week; ``id`` is null for an OPEN week that was never submitted."""

    id = serializers.UUIDField(allow_null=True)
    user_id = serializers.UUIDField()
    user = PersonSerializer()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    status = serializers.ChoiceField(choices=TimesheetStatus.choices)
    total_seconds = serializers.IntegerField(min_value=0)
    billable_seconds = serializers.IntegerField(min_value=0)
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = PersonRefSerializer(allow_null=True)
    comment = serializers.CharField(allow_blank=True)


class TimesheetPageSerializer(serializers.Serializer):
    results = TimesheetSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class TimesheetFilterSerializer(serializers.Serializer):
    """Query parameters of GET /timesheets: local days ``from``..``to`` (default: the last four
    weeks up to the current one, in the company's time zone), at most a year apart."""

    to = serializers.DateField(required=False)
    user = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=TimesheetStatus.choices, required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # a keyword in Python
        return fields


class TimesheetSubmitSerializer(CompanyScopedInput):
    period_start = serializers.DateField(help_text="The week's first day (the company's week_start).")
    user_id = serializers.UUIDField(required=False, help_text="Whose week (default: yours; others: OWNER/ADMIN).")


class TimesheetDecisionSerializer(InputSerializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
