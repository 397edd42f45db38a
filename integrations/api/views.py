"""The audit log's API (SPEC: "Timesheets, locked periods and the audit log"): read only.
Nothing here, nor anywhere, writes a row but ``audit.recording.record`` (and the retention
purge); the database refuses the rest."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from audit.models import AuditEntry
from common.pagination import CursorPagination
from common.query import validated_query
from integrations import selectors
from integrations.api import serializers as s
from organizations.api.scoping import COMPANY_PARAM, CompanyScopedViewSet


class AuditPagination(CursorPagination):
    # The log's own order (and its indexes): when it happened, ties by the time-ordered id.
    ordering = ("-at", "-id")


@extend_schema(tags=["audit"], parameters=[COMPANY_PARAM])
class AuditLogViewSet(CompanyScopedViewSet, mixins.ListModelMixin):
    """One company's log, newest first: the whole of it for an OWNER or ADMIN; with
    ``?mine=true``, for any member, what others did to their data."""

    queryset = AuditEntry.objects.none()
    serializer_class = s.AuditEntrySerializer
    pagination_class = AuditPagination

    def scoped_queryset(self, memberships):
        # The log is read in one company at a time (``list`` resolves it): never across all
        # of the caller's companies, whatever a generic caller of get_queryset expects.
        return AuditEntry.objects.none()

    @extend_schema(parameters=[s.AuditQuerySerializer])
    def list(self, request):
        membership = self.company_membership()
        query = validated_query(request, s.AuditQuerySerializer)
        filters = selectors.AuditFilters(
            mine=query["mine"],
            actor=query.get("actor"),
            target_type=query.get("target_type"),
            target_id=query.get("target_id"),
            action=query.get("action"),
            at_from=query.get("from"),
            at_to=query.get("to"),
        )
        page = self.paginate_queryset(selectors.audit_log_list(membership=membership, filters=filters))
        return self.get_paginated_response(s.AuditEntrySerializer(page, many=True).data)
