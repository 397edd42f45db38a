from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from accounts.models import validate_timezone


class AppsQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="A local calendar day; default: today there.")
    user = serializers.CharField(required=False, help_text="A user id, or `me` (default).")
    tz = serializers.CharField(required=False, validators=[validate_timezone], help_text="IANA; default: the user's.")
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")

    def validate_tz(self, value: str) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(value)


class DailyQuerySerializer(AppsQuerySerializer):
    pass


class WeeklyQuerySerializer(serializers.Serializer):
    user = serializers.CharField(required=False, help_text="A user id, or `me` (default).")
    tz = serializers.CharField(required=False, validators=[validate_timezone], help_text="IANA; default: the user's.")
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")

    def validate_tz(self, value: str) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(value)

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
