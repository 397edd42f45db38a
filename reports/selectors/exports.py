"""The export jobs a caller may see (SPEC: /reports/exports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from accounts.models import User
    from organizations.models import Membership
    from reports.models import ReportExport


def export_list(*, memberships: list[Membership], user: User) -> QuerySet[ReportExport]:
    """The exports the caller may see: their own, and every export of a company whose exports
    they may see (SPEC: the requester and OWNER/ADMIN); nobody else's exist."""
    from organizations import permissions
    from reports.models import ReportExport

    own = [m.company_id for m in memberships]
    all_of = [m.company_id for m in memberships if permissions.can_see_others_exports(m)]
    return ReportExport.objects.filter(Q(company_id__in=own, requested_by=user) | Q(company_id__in=all_of)).order_by(
        "-created_at", "-id"
    )
