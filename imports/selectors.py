"""Which imports a caller sees."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from imports.models import ImportJob
from organizations import permissions
from organizations.models import Membership


def import_list(*, memberships: list[Membership], user: User) -> QuerySet[ImportJob]:
    """Their own imports, and every import of a company whose imports they may see (the
    requester and OWNER/ADMIN); nobody else's exist."""
    own = [m.company_id for m in memberships]
    all_of = [m.company_id for m in memberships if permissions.can_see_others_imports(m)]
    return ImportJob.objects.filter(Q(company_id__in=own, requested_by=user) | Q(company_id__in=all_of)).order_by(
        "-created_at", "-id"
    )
