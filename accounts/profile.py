"""The account's own profile: PATCH /me (name, time zone, default company), its settings,
deleting the account. Sign-in, sessions and passwords are ``accounts.services``."""

from __future__ import annotations

import enum
from uuid import UUID

from django.db import transaction

from accounts.models import User
from common.db_guards import period_locks_lifted
from common.exceptions import NotFoundError
from organizations.models import Membership


class Unchanged(enum.Enum):
    """The default of a field that None would clear: "leave it as it is"."""

    UNCHANGED = enum.auto()


UNCHANGED = Unchanged.UNCHANGED


@transaction.atomic
def user_update(
    *,
    user: User,
    name: str | None = None,
    timezone_name: str | None = None,
    default_company_id: UUID | None | Unchanged = UNCHANGED,
) -> User:
    """PATCH /me. ``default_company_id``: a company the user is an active member of (else 404,
    like any company that is not theirs, SPEC: Conventions), or None to clear it."""
    fields = []
    if not isinstance(default_company_id, Unchanged):
        if default_company_id is not None and not (
            Membership.objects.filter(user=user, company_id=default_company_id, is_active=True).exists()
        ):
            raise NotFoundError("No such company.", code="not_found")
        user.default_company_id = default_company_id
        fields.append("default_company")
    if name is not None:
        user.name = name
        fields.append("name")
    if timezone_name is not None:
        user.timezone = timezone_name
        fields.append("timezone")
    if fields:
        user.save(update_fields=[*fields, "updated_at"])
    return user


@transaction.atomic
def user_settings_merge(*, user: User, changes: dict) -> User:
    # Lock the row: two devices merging different keys at once must both keep their key.
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.settings = {**locked.settings, **changes}
    locked.save(update_fields=["settings", "updated_at"])
    user.settings = locked.settings
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account and everything it owns (superusers, in the admin): sessions, tokens,
    memberships and, by cascade, their time entries in every company, locked periods included
    (the check is lifted for this delete only: ``period_locks_lifted``). To keep a leaver's
    time, remove their membership instead (``member_remove``): it deletes nothing."""
    with period_locks_lifted():
        user.delete()
