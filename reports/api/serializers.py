from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import validate_timezone
from common.query import check_date_range
from organizations.api.scoping import CompanyScopedInput
from reports.models import ExportFormat, ExportReport, ReportApprovalStatus, ReportExport


class SubjectQuerySerializer(serializers.Serializer):
    """Whose report, in which zone and company."""

    user = serializers.CharField(required=False, help_text="A user id, or `me` (default).")
    tz = serializers.CharField(required=False, validators=[validate_timezone], help_text="IANA; default: the user's.")
    company = serializers.UUIDField(required=False, help_text="Needed when you belong to several companies.")

    def validate_tz(self, value: str) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(value)


class DayQuerySerializer(SubjectQuerySerializer):
    date = serializers.DateField(required=False, help_text="A local calendar day; default: today there.")


# SPEC: a ranged daily report covers at most 31 local days, both ends included.
DAILY_RANGE_MAX_DAYS = 31


class DailyQuerySerializer(DayQuerySerializer):
    """One day (``date``, default today), or a range of days (``from`` and ``to``)."""

    to = serializers.DateField(
        required=False,
        help_text=f"The last local day of a range (inclusive, with `from`): at most {DAILY_RANGE_MAX_DAYS} days.",
    )

    def get_fields(self):
        fields = super().get_fields()  # `from` is a Python keyword: added under its query name
        fields["from"] = serializers.DateField(
            required=False, help_text="The first local day of a range (with `to`, instead of `date`)."
        )
        return fields

    def validate(self, attrs):
        # Out-of-calendar dates are named as such first, not reported as a range too long.
        check_date_range(attrs)
        first, last = attrs.get("from"), attrs.get("to")
        if "date" in attrs and (first or last):
            raise serializers.ValidationError({"date": ["Give date, or from and to, not both."]})
        if first is None and last is not None:
            raise serializers.ValidationError({"from": ["Required with to."]})
        if last is None and first is not None:
            raise serializers.ValidationError({"to": ["Required with from."]})
        if first and last and not 0 <= (last - first).days < DAILY_RANGE_MAX_DAYS:
            raise serializers.ValidationError(
                {"to": [f"Must be on or after from, at most {DAILY_RANGE_MAX_DAYS} days in all."]}
            )
        return attrs


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


def approval_status_field(*, help_text: str) -> serializers.ChoiceField:
    """A report row's approval status (docs/reports.md, "Approval status"): a timesheet
    status, or MIXED where a row spans weeks whose statuses differ."""
    return serializers.ChoiceField(choices=ReportApprovalStatus.choices, help_text=help_text)


class DailyReportSerializer(serializers.Serializer):
    date = serializers.DateField()
    timezone = serializers.CharField()
    total_seconds = serializers.IntegerField()
    approval_status = approval_status_field(help_text="The status of the timesheet week holding the day.")
    projects = DailyProjectSerializer(many=True)


class DailyRangeReportSerializer(serializers.Serializer):
    to = serializers.DateField()
    timezone = serializers.CharField()
    user_id = serializers.UUIDField(help_text="Whose report it is.")
    days = DailyReportSerializer(
        many=True, help_text="One per local day from `from` to `to`, in order; one without time: zero, no projects."
    )

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class DaySecondsSerializer(serializers.Serializer):
    date = serializers.DateField()
    seconds = serializers.IntegerField()


class WeeklyDaySerializer(DaySecondsSerializer):
    approval_status = approval_status_field(help_text="The status of the timesheet week holding the day.")


class WeeklyReportSerializer(serializers.Serializer):
    to = serializers.DateField()
    approval_status = approval_status_field(
        help_text="The days' weeks with time: their common status, else MIXED; OPEN with no time."
    )
    days = WeeklyDaySerializer(many=True)
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
    active_seconds = serializers.IntegerField(help_text="Not away, by ActivityWatch's afkstatus (each moment once).")
    away_seconds = serializers.IntegerField(help_text="Away, by ActivityWatch's afkstatus (each moment once).")


def _within_a_year(attrs: dict) -> dict:
    """A ``from``..``to`` range of a report: in order, at most 366 days (the team and coding reports)."""
    first, last = attrs.get("from"), attrs.get("to")
    if first and last and not 0 <= (last - first).days <= 366:
        raise serializers.ValidationError({"to": ["Must be on or after from, at most 366 days later."]})
    return attrs


class CodingQuerySerializer(SubjectQuerySerializer):
    to = serializers.DateField(required=False, help_text="The last local day (inclusive); default: today.")

    def get_fields(self):
        fields = super().get_fields()  # `from` is a Python keyword: added under its query name
        fields["from"] = serializers.DateField(
            required=False, help_text="The first local day; default: six days before `to` (a week)."
        )
        return fields

    def validate(self, attrs):
        return _within_a_year(attrs)


class NamedSecondsSerializer(serializers.Serializer):
    name = serializers.CharField()
    seconds = serializers.IntegerField()


class CodingReportSerializer(serializers.Serializer):
    to = serializers.DateField()
    timezone = serializers.CharField()
    total_seconds = serializers.IntegerField()
    projects = NamedSecondsSerializer(many=True)
    languages = NamedSecondsSerializer(many=True)
    editors = NamedSecondsSerializer(many=True)
    days = DaySecondsSerializer(many=True)

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class TeamQuerySerializer(WeeklyQuerySerializer):
    team = serializers.UUIDField(required=False, help_text="Only this team's members.")
    approved_only = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Count only time inside APPROVED timesheet weeks (time, money and activity %).",
    )
    to = serializers.DateField(required=False, help_text="The last local day (inclusive); default: today.")
    user = None  # type: ignore[assignment]  # DRF drops a declared field set to None: the team report is about many users

    def get_fields(self):
        fields = super().get_fields()
        fields["from"].help_text = "The first local day; default: the first of this month."
        return fields

    def validate(self, attrs):
        return _within_a_year(attrs)


class TeamUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()


class TeamProjectSerializer(ProjectSecondsSerializer):
    billable_seconds = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()


class ApprovalWeekSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    status = approval_status_field(help_text="The week's timesheet status (OPEN when never submitted).")
    seconds = serializers.IntegerField(help_text="The member's time in this week, within the report's range.")


class TeamRowSerializer(serializers.Serializer):
    user = TeamUserSerializer()
    tracked_seconds = serializers.IntegerField()
    billable_seconds = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField(allow_null=True)
    activity_percent = serializers.FloatField(allow_null=True)
    approval_status = approval_status_field(
        help_text="The member's weeks with time in the range: their common status, else MIXED; OPEN with no time.",
    )
    approval_weeks = ApprovalWeekSerializer(many=True, help_text="Every timesheet week of the member in the range.")
    projects = TeamProjectSerializer(many=True)


class TeamPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TeamRowSerializer(many=True)


@extend_schema_field(
    {
        "type": "object",
        "properties": {name: {"type": "string", "format": "uuid"} for name in ("user", "project", "team")},
        "additionalProperties": False,
    }
)
class ExportFiltersField(serializers.DictField):
    """For the schema: the filters validate_filters takes, and no others."""


class ExportCreateSerializer(CompanyScopedInput):
    report = serializers.ChoiceField(
        choices=ExportReport.choices,
        help_text="`full`: the company as `stint_json` (format `json`), which `POST /imports` reads back.",
    )
    format = serializers.ChoiceField(choices=ExportFormat.choices, help_text="`json` is for `full` only.")
    tz = serializers.CharField(
        required=False, validators=[validate_timezone], help_text="IANA; default: the company's."
    )
    to = serializers.DateField(
        required=False, help_text="The last local day (inclusive). Required, except for `full` (default: all time)."
    )
    filters = ExportFiltersField(required=False, help_text="time_entries: user, project; team: team (ids).")

    def get_fields(self):
        first = serializers.DateField(
            required=False, help_text="The first local day. Required, except for `full` (default: all time)."
        )
        return {"from": first, **super().get_fields()}

    def validate(self, attrs):
        check_date_range(attrs)  # the export task computes local days from these
        full = attrs["report"] == ExportReport.FULL
        if full != (attrs["format"] == ExportFormat.JSON):
            message = "A full export is json." if full else "json is for the full export."
            raise serializers.ValidationError({"format": [message]}, code="invalid")
        if full and attrs.get("filters"):
            raise serializers.ValidationError({"filters": ["A full export takes no filters."]}, code="invalid")
        for name in ("from", "to"):
            # A range is both ends, or (full) none: the whole history.
            if name not in attrs and (not full or attrs.keys() & {"from", "to"}):
                raise serializers.ValidationError({name: ["This field is required."]}, code="required")
        return attrs

    def validate_filters(self, value: dict[str, Any]) -> dict[str, uuid.UUID]:
        allowed = {"user", "project", "team"}
        unknown = set(value) - allowed
        if unknown:
            raise serializers.ValidationError(f"Unknown filters: {', '.join(sorted(unknown))}.")
        out: dict[str, uuid.UUID] = {}
        for key, raw in value.items():
            try:
                out[key] = uuid.UUID(str(raw))
            except ValueError:
                raise serializers.ValidationError(f"{key} must be an id.") from None
        return out


class ExportSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    requested_by_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = ReportExport
        fields = [
            "id", "company_id", "requested_by_id", "report", "format", "params", "status", "error", "rows",
            "size_bytes", "created_at", "finished_at", "expires_at",
        ]  # fmt: skip
        read_only_fields = fields


class ExportStatusSerializer(ExportSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta(ExportSerializer.Meta):
        fields = [*ExportSerializer.Meta.fields, "download_url"]
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        """A private link of our own, valid EXPORT_LINK_SECONDS: absolute, signed, single file."""
        from django.urls import reverse

        from common.signed_links import link_token

        if export.status != "READY":
            return None
        request = self.context.get("request")
        # The link names whom it was given to: following it is recorded as their download in
        # the audit log (the download itself carries no credentials but the signature).
        viewer = getattr(getattr(request, "user", None), "pk", None)
        token = link_token(salt="report-export", value=f"{export.pk}:{viewer or ''}")
        path = reverse("reports-export-download", args=[export.pk]) + f"?token={token}"
        return request.build_absolute_uri(path) if request else path


class ExportPageSerializer(serializers.Serializer):
    """GET /reports/exports is cursor-paginated like every list (the schema said a bare array)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ExportSerializer(many=True)
