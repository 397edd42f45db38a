from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import DeviceSession, PersonalAccessToken, User


def device_session_list(*, user: User) -> QuerySet[DeviceSession]:
    """The user's signed-in devices: live sessions only, newest first."""
    return DeviceSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def personal_token_list(*, user: User) -> QuerySet[PersonalAccessToken]:
    """The user's tokens that are not revoked, newest first. Expired ones stay listed, so their
    owner sees why a script stopped; revoked ones are gone for good and not shown."""
    return PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True)
