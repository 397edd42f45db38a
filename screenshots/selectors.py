"""Reads of screenshots, scoped by the caller's memberships (SPEC roles: a MEMBER their own, a
LEAD their teams', OWNER, ADMIN and MANAGER the company's)."""

from __future__ import annotations

from django.db.models import QuerySet

from organizations import permissions
from organizations.models import Membership
from screenshots.models import Screenshot


def screenshot_list(*, memberships: list[Membership], filters: dict) -> QuerySet[Screenshot]:
    """Newest first; ``filters``: ``user``, ``from``/``to`` (captured_at)."""
    if not memberships:
        return Screenshot.objects.none()
    qs = Screenshot.objects.filter(permissions.readable_users_in_any_q(memberships))
    if filters.get("user"):
        qs = qs.filter(user_id=filters["user"])
    if filters.get("from"):
        qs = qs.filter(captured_at__gte=filters["from"])
    if filters.get("to"):
        qs = qs.filter(captured_at__lt=filters["to"])
    return qs.order_by("-captured_at", "-id")
