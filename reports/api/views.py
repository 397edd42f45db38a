"""Report endpoints (SPEC: Reports). Thin: resolve who and which day, call a selector."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import F
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from accounts.models import User
from common.openapi import PAGINATION_PARAMETERS, SIGNED_LINK_TOKEN, XLSX_CONTENT_TYPE, plan_limit
from common.pagination import CursorPagination
from common.query import validated_query
from common.signed_links import link_value
from organizations import permissions
from organizations.api.scoping import request_membership
from organizations.models import Membership, Team
from reports import services
from reports.api import serializers as s
from reports.models import ExportFilters, ReportExport
from reports.selectors.apps import apps_report
from reports.selectors.coding import coding_report
from reports.selectors.days import local_day_bounds
from reports.selectors.exports import export_list
from reports.selectors.team import team_members, team_rows
from reports.selectors.tracked_time import daily_reports, weekly_report


def _subject(membership: Membership, raw_user: str | None, caller: User) -> User:
    """The user a report is about: the caller (``me``, the default), or someone whose data the
    caller may read in this company (SPEC roles); anyone else is 404, as if absent."""
    if raw_user in (None, "", "me"):
        return caller
    try:
        user_id = uuid.UUID(raw_user)
    except ValueError:
        raise NotFound("No such user.") from None
    if not permissions.can_read_user_data(membership, user_id):
        raise NotFound("No such user.")
    user = User.objects.filter(pk=user_id, memberships__company_id=membership.company_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def _query_and_membership(request: Request, query_class: type[Serializer]) -> tuple[dict[str, Any], Membership]:
    """The validated query string, and the membership the report is for (404 if none)."""
    query = validated_query(request, query_class)
    return query, request_membership(request)


def _report_context(
    request: Request, query_class: type[Serializer]
) -> tuple[dict[str, Any], Membership, User, zoneinfo.ZoneInfo]:
    params, membership = _query_and_membership(request, query_class)
    user = _subject(membership, params.get("user"), authenticated_user(request))
    return params, membership, user, params.get("tz") or zoneinfo.ZoneInfo(user.timezone)


@extend_schema(tags=["reports"])
class AppsReportView(APIView):
    @extend_schema(parameters=[s.DayQuerySerializer], responses={200: s.AppsReportSerializer})
    def get(self, request):
        params, membership, user, tz = _report_context(request, s.DayQuerySerializer)
        day = params.get("date") or timezone.now().astimezone(tz).date()
        return Response(apps_report(company_id=membership.company_id, user_id=user.pk, day=day, tz=tz))


@extend_schema(tags=["reports"])
class CodingReportView(APIView):
    """Coding time from editor heartbeats (WakaTime, ActivityWatch's editor watchers)."""

    @extend_schema(parameters=[s.CodingQuerySerializer], responses={200: s.CodingReportSerializer})
    def get(self, request):
        params, membership, user, tz = _report_context(request, s.CodingQuerySerializer)
        last = params.get("to") or timezone.now().astimezone(tz).date()
        first = params.get("from") or last - timedelta(days=6)
        if not 0 <= (last - first).days <= 366:  # checked again here: either may be a default
            raise ValidationError({"to": ["Must be on or after from, at most 366 days later."]})
        return Response(coding_report(company_id=membership.company_id, user_id=user.pk, first=first, last=last, tz=tz))


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


DAILY_RESPONSE = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="DailyReportOrRange",
        serializers=[s.DailyReportSerializer, s.DailyRangeReportSerializer],
        resource_type_field_name=None,
    ),
    description="With `date` (or neither): one day. With `from` and `to`: `{from, to, timezone, user_id, days}`, "
    "each of the days shaped as one day's answer.",
)


@extend_schema(tags=["reports"])
class DailyReportView(APIView):
    @extend_schema(parameters=[s.DailyQuerySerializer], responses={200: DAILY_RESPONSE})
    def get(self, request):
        params, membership, user, tz = _report_context(request, s.DailyQuerySerializer)
        now = timezone.now()
        ranged = "from" in params  # the query serializer sees to it that `to` comes with it
        first = params["from"] if ranged else params.get("date") or now.astimezone(tz).date()
        last = params["to"] if ranged else first
        days = daily_reports(
            company_id=membership.company_id,
            user_id=user.pk,
            first=first,
            last=last,
            tz=tz,
            now=now,
            week_start=membership.company.week_start,
        )
        if not ranged:
            return Response(days[0])
        span = {"from": first.isoformat(), "to": last.isoformat(), "timezone": tz.key, "user_id": str(user.pk)}
        return Response({**span, "days": days})


@extend_schema(tags=["reports"])
class WeeklyReportView(APIView):
    @extend_schema(parameters=[s.WeeklyQuerySerializer], responses={200: s.WeeklyReportSerializer})
    def get(self, request):
        params, membership, user, tz = _report_context(request, s.WeeklyQuerySerializer)
        now = timezone.now()
        first = params.get("from")
        if first is None:  # this week, starting on the user's week_start (Monday by default)
            today = now.astimezone(tz).date()
            start = WEEKDAYS.index(user.effective_settings.get("week_start", "monday"))
            first = today - timedelta(days=(today.weekday() - start) % 7)
        return Response(
            weekly_report(
                company_id=membership.company_id,
                user_id=user.pk,
                first=first,
                tz=tz,
                now=now,
                week_start=membership.company.week_start,
            )
        )


class TeamPagination(CursorPagination):
    ordering = ("user_name", "id")  # by name, stable under equal names
    page_size = 50


@extend_schema(tags=["reports"])
class TeamReportView(APIView):
    pagination_class = TeamPagination

    @extend_schema(parameters=[s.TeamQuerySerializer], responses={200: s.TeamPageSerializer})
    def get(self, request):
        params, membership = _query_and_membership(request, s.TeamQuerySerializer)
        team_id = params.get("team")
        if team_id is not None and not Team.objects.filter(pk=team_id, company_id=membership.company_id).exists():
            raise NotFound("No such team.")
        tz = params.get("tz") or zoneinfo.ZoneInfo(membership.company.timezone)
        now = timezone.now()
        today = now.astimezone(tz).date()
        first, last = params.get("from") or today.replace(day=1), params.get("to") or today
        if last < first:
            raise ValidationError({"to": ["Must be on or after from."]})
        lo, hi = local_day_bounds(first, tz)[0], local_day_bounds(last, tz)[1]
        members = team_members(membership=membership, team_id=team_id).annotate(user_name=F("user__name"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(members, request, view=self)
        rows = team_rows(
            company_id=membership.company_id,
            members=page or [],
            lo=lo,
            hi=hi,
            now=now,
            week_start=membership.company.week_start,
            approved_only=params.get("approved_only", False),
        )
        return paginator.get_paginated_response(rows)


# --------------------------------------------------------------------------- exports


def _visible_exports(request):
    return export_list(memberships=list(permissions.active_memberships(request.user)), user=request.user)


@extend_schema(tags=["reports"])
class ExportListView(APIView):
    @extend_schema(
        request=s.ExportCreateSerializer,
        parameters=[OpenApiParameter("company", str, required=False)],
        responses={
            202: s.ExportSerializer,
            402: plan_limit("The company's plan allows no more exports today, UTC (attr: exports_per_day)."),
        },
    )
    def post(self, request):
        query = s.ExportCreateSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        membership = request_membership(request, create=True)
        export = services.export_request(
            membership=membership,
            report=params["report"],
            fmt=params["format"],
            first=params.get("from"),
            last=params.get("to"),
            tz=params.get("tz") or membership.company.timezone,
            filters=ExportFilters(**params.get("filters", {})),
        )
        return Response(s.ExportSerializer(export).data, status=202)

    @extend_schema(
        operation_id="reports_exports_list", parameters=PAGINATION_PARAMETERS, responses={200: s.ExportPageSerializer}
    )
    def get(self, request):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(_visible_exports(request), request, view=self)
        return paginator.get_paginated_response(s.ExportSerializer(page, many=True).data)


@extend_schema(tags=["reports"])
class ExportDetailView(APIView):
    @extend_schema(responses={200: s.ExportStatusSerializer})
    def get(self, request, export_id):
        export = _visible_exports(request).filter(pk=export_id).first()
        if export is None:
            raise NotFound("No such export.")
        return Response(s.ExportStatusSerializer(export, context={"request": request}).data)


class ExportDownloadView(APIView):
    """The file, for whoever holds a link from ExportDetailView that is not older than
    EXPORT_LINK_SECONDS: the signature is the credential (a browser following the link sends
    no bearer token)."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        tags=["reports"],
        parameters=[SIGNED_LINK_TOKEN],
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file")
            for content_type in ("text/csv", XLSX_CONTENT_TYPE, "application/json")
        },
    )
    def get(self, request, export_id):
        signed = link_value(request, salt="report-export", max_age=settings.EXPORT_LINK_SECONDS)
        signed_id, _, downloader_id = signed.partition(":")
        export = ReportExport.objects.filter(pk=export_id, status="READY").first()
        if export is None or signed_id != str(export.pk) or not export.file_key:
            raise NotFound("No such export.")
        services.export_downloaded(export=export, downloader_id=downloader_id or None)
        name = export.file_key.rsplit("/", 1)[-1]
        return FileResponse(default_storage.open(export.file_key, "rb"), as_attachment=True, filename=name)
