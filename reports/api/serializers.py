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
