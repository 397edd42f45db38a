from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from accounts.models import validate_timezone


class SubjectQuerySerializer(serializers.Serializer):
    """Whose report, in which zone and company."""

    user = serializers.CharField(required=False, help_text="A user id, or `me` (default).")
    tz = serializers.CharField(required=False, validators=[validate_timezone], help_text="IANA; default: the user's.")
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")

    def validate_tz(self, value: str) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(value)


class DayQuerySerializer(SubjectQuerySerializer):
    date = serializers.DateField(required=False, help_text="A local calendar day; default: today there.")


class WeeklyQuerySerializer(SubjectQuerySerializer):
    def get_fields(self):
        fields = super().get_fields()  # `from` is a Python keyword: added under its query name
        fields["from"] = serializers.DateField(
            required=False, help_text="The first local day; default: this week's first day (the user's week_start)."
        )
        return fields


class TaskSecondsSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    title = serializers.CharField()
    seconds = serializers.IntegerField()


class ProjectSecondsSerializer(serializers.Serializer):
    project_id = serializers.UUIDField()
    name = serializers.CharField()
    seconds = serializers.IntegerField()


class DailyProjectSerializer(ProjectSecondsSerializer):
    tasks = TaskSecondsSerializer(many=True)


class DailyReportSerializer(serializers.Serializer):
    date = serializers.DateField()
    timezone = serializers.CharField()
    total_seconds = serializers.IntegerField()
    projects = DailyProjectSerializer(many=True)


class DaySecondsSerializer(serializers.Serializer):
    date = serializers.DateField()
    seconds = serializers.IntegerField()


class WeeklyReportSerializer(serializers.Serializer):
    to = serializers.DateField()
    days = DaySecondsSerializer(many=True)
    projects = ProjectSecondsSerializer(many=True)

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class AppSecondsSerializer(serializers.Serializer):
    app = serializers.CharField()
    seconds = serializers.IntegerField()


class DomainSecondsSerializer(serializers.Serializer):
    domain = serializers.CharField()
    seconds = serializers.IntegerField()


class AppsReportSerializer(serializers.Serializer):
    date = serializers.DateField()
    timezone = serializers.CharField()
    apps = AppSecondsSerializer(many=True)
    domains = DomainSecondsSerializer(many=True)


class TeamQuerySerializer(WeeklyQuerySerializer):
    team = serializers.UUIDField(required=False, help_text="Only this team's members.")
    to = serializers.DateField(required=False, help_text="The last local day (inclusive); default: today.")
    user = None  # the team report is about many users

    def get_fields(self):
        fields = super().get_fields()
        fields["from"].help_text = "The first local day; default: the first of this month."
        return fields

    def validate(self, attrs):
        first, last = attrs.get("from"), attrs.get("to")
        if first and last and not 0 <= (last - first).days <= 366:
            raise serializers.ValidationError({"to": ["Must be on or after from, at most 366 days later."]})
        return attrs


class TeamUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()


class TeamProjectSerializer(ProjectSecondsSerializer):
    billable_seconds = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()


class TeamRowSerializer(serializers.Serializer):
    user = TeamUserSerializer()
    tracked_seconds = serializers.IntegerField()
    billable_seconds = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField(allow_null=True)
    activity_percent = serializers.FloatField(allow_null=True)
    projects = TeamProjectSerializer(many=True)


class TeamPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TeamRowSerializer(many=True)
