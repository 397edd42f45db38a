"""Reads of screenshots, scoped by the caller's memberships (SPEC roles: a MEMBER their own, a
LEAD their teams', OWNER, ADMIN and MANAGER the company's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from organizations import permissions
from organizations.models import Membership
from screenshots.models import Screenshot, ScreenshotStatus


@dataclass(frozen=True, kw_only=True)
class ScreenshotFilters:
    """What ``screenshot_list`` narrows by (typed: a misspelt or removed filter is an error
    where it is passed, not a key the selector quietly ignores)."""

    user: uuid.UUID | None = None
    captured_from: datetime | None = None  # inclusive
    captured_to: datetime | None = None  # exclusive
    status: ScreenshotStatus | None = None


def screenshot_list(*, memberships: list[Membership], filters: ScreenshotFilters) -> QuerySet[Screenshot]:
    """Newest first."""
    if not memberships:
        return Screenshot.objects.none()
    qs = Screenshot.objects.filter(permissions.readable_users_in_any_q(memberships))
    if filters.user is not None:
        qs = qs.filter(user_id=filters.user)
    if filters.captured_from is not None:
        qs = qs.filter(captured_at__gte=filters.captured_from)
    if filters.captured_to is not None:
        qs = qs.filter(captured_at__lt=filters.captured_to)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    return qs.order_by("-captured_at", "-id")
