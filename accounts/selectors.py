from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import DeviceSession, User


def device_session_list(*, user: User) -> QuerySet[DeviceSession]:
    """The user's signed-in devices: live sessions only, newest first."""
    return DeviceSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())
