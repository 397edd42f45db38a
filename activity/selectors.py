"""Reads of activity settings, scoped by the caller's memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from activity.models import PrivacyRule
from organizations import permissions
from organizations.models import Membership


def privacy_rule_list(*, memberships: list[Membership]) -> QuerySet[PrivacyRule]:
    """The rules of the companies whose rules the caller manages (OWNER, ADMIN); none else."""
    companies = [m.company_id for m in memberships if permissions.can_manage_privacy_rules(m)]
    return PrivacyRule.objects.filter(company_id__in=companies).order_by("created_at", "id")
