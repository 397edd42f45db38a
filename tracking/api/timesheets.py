"""Timesheet endpoints (SPEC "Timesheets, locked periods and the audit log"). Thin: scope
through the company-scoped base view, call a selector or a service, render. Who may do what is
``organizations.permissions``' (asked by the services), the workflow is
``tracking.services.timesheets``', the list is ``tracking.selectors.timesheet_list``'s."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts.authentication import authenticated_user
from common.pagination import CursorPagination
from organizations.api.scoping import COMPANY_PARAM, CompanyScopedViewSet
from organizations.models import Membership
from tracking import selectors
from tracking.api import serializers as s
from tracking.models import Timesheet
from tracking.selectors import TimesheetFilters, TimesheetKey
from tracking.services import timesheets as services
from tracking.weeks import week_containing

DEFAULT_WEEKS = 4  # the current week and the three before it
MAX_RANGE = timedelta(days=366)
LIST_PARAMETERS = [
    COMPANY_PARAM,
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (default: 3 weeks before this week)."),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="Last local day (default: today); at most a year after from."
    ),
    OpenApiParameter("user", OpenApiTypes.UUID, description="One member's weeks."),
    OpenApiParameter("status", str, enum=["OPEN", "SUBMITTED", "APPROVED", "REJECTED"]),
    OpenApiParameter("cursor", str, description="From a previous answer's next or previous link."),
    OpenApiParameter("limit", int, description="Rows per page (1 to 200)."),
]


class TimesheetPaginator:
    """Keyset pages over (period_start desc, member name, member id) in the list's shape
    (``{"results", "next", "previous"}``, opaque cursors) for rows that are not a queryset:
    OPEN weeks without a sheet exist only in the selector's SQL."""

    query_param = "cursor"

    def __init__(self, request: Request) -> None:
        self.request = request
        self.limit = CursorPagination().get_page_size(request)  # the same ?limit= rules
        self.after: TimesheetKey | None = None
        self.before: TimesheetKey | None = None
        raw = request.query_params.get(self.query_param)
        if raw:
            direction, key = self._decode(raw)
            if direction == "n":
                self.after = key
            else:
                self.before = key

    @staticmethod
    def _decode(raw: str) -> tuple[str, TimesheetKey]:
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
            key = TimesheetKey(date.fromisoformat(data["p"]), str(data["n"]), uuid.UUID(data["u"]))
            if data["d"] not in ("n", "p"):
                raise ValueError(data["d"])
            return data["d"], key
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise NotFound("Invalid cursor.") from None

    def _link(self, direction: str, row: dict) -> str:
        payload = {
            "d": direction,
            "p": row["period_start"].isoformat(),
            "n": row["user"]["name"],
            "u": str(row["user_id"]),
        }
        cursor = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        return replace_query_param(self.request.build_absolute_uri(), self.query_param, cursor)

    def response(self, page: selectors.TimesheetPage, data: Any) -> Response:
        rows = page.rows
        going_back = self.before is not None
        has_next = (page.more and not going_back) or going_back
        has_previous = (page.more and going_back) or self.after is not None
        first_page = remove_query_param(self.request.build_absolute_uri(), self.query_param)
        return Response(
            {
                "results": data,
                "next": self._link("n", rows[-1]) if has_next and rows else None,
                # Backwards from the first row; from an empty page, the first page.
                "previous": (self._link("p", rows[0]) if rows else first_page) if has_previous else None,
            }
        )


@extend_schema(tags=["timesheets"])
class TimesheetViewSet(CompanyScopedViewSet):
    queryset = Timesheet.objects.none()

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet[Timesheet]:
        # A sheet the caller cannot read, or another company's, is absent: 404.
        return selectors.readable_timesheets(memberships=memberships)

    def _row(self, sheet: Timesheet) -> dict:
        sheet = selectors.readable_timesheets(memberships=self.memberships()).get(pk=sheet.pk)
        return dict(s.TimesheetSerializer(selectors.timesheet_row(sheet)).data)

    @extend_schema(parameters=LIST_PARAMETERS, responses={200: s.TimesheetPageSerializer})
    def list(self, request: Request) -> Response:
        query = s.TimesheetFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        membership = self.company_membership()
        company = membership.company
        today = timezone.now().astimezone(ZoneInfo(company.timezone)).date()
        last = params.get("to") or today
        first = params.get("from")
        if first is None:
            this_week = week_containing(last, week_start=company.week_start, timezone=company.timezone)
            first = this_week.period_start - timedelta(weeks=DEFAULT_WEEKS - 1)
        if last < first:
            raise ValidationError({"to": ["Must be on or after from."]})
        if last - first > MAX_RANGE:
            raise ValidationError({"to": ["At most a year after from."]}, code="range_too_long")
        paginator = TimesheetPaginator(request)
        page = selectors.timesheet_list(
            membership=membership,
            filters=TimesheetFilters(first=first, last=last, user=params.get("user"), status=params.get("status")),
            after=paginator.after,
            before=paginator.before,
            limit=paginator.limit,
        )
        return paginator.response(page, s.TimesheetSerializer(page.rows, many=True).data)

    @extend_schema(request=s.TimesheetSubmitSerializer, responses={201: s.TimesheetSerializer})
    @action(detail=False, methods=["post"])
    def submit(self, request: Request) -> Response:
        data = self.validated(s.TimesheetSubmitSerializer)
        membership = self.company_membership()
        sheet = services.timesheet_submit(
            actor_membership=membership,
            user_id=data.get("user_id") or authenticated_user(request).pk,
            period_start=data["period_start"],
        )
        return Response(self._row(sheet), status=status.HTTP_201_CREATED)

    def _decision(self, pk) -> tuple[Timesheet, Membership, str]:
        sheet = get_object_or_404(self.get_queryset(), pk=pk)
        comment = self.validated(s.TimesheetDecisionSerializer)["comment"]
        return sheet, self.membership_for(sheet), comment

    @extend_schema(request=s.TimesheetDecisionSerializer, responses={200: s.TimesheetSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk=None) -> Response:
        sheet, membership, comment = self._decision(pk)
        sheet = services.timesheet_approve(actor_membership=membership, timesheet=sheet, comment=comment)
        return Response(self._row(sheet))

    @extend_schema(request=s.TimesheetDecisionSerializer, responses={200: s.TimesheetSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk=None) -> Response:
        sheet, membership, comment = self._decision(pk)
        sheet = services.timesheet_reject(actor_membership=membership, timesheet=sheet, comment=comment)
        return Response(self._row(sheet))

    @extend_schema(request=s.TimesheetDecisionSerializer, responses={200: s.TimesheetSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk=None) -> Response:
        sheet, membership, comment = self._decision(pk)
        sheet = services.timesheet_reopen(actor_membership=membership, timesheet=sheet, comment=comment)
        return Response(self._row(sheet))
