"""The people of an import's rows who are not (yet) the company's active members: matched by
full name (Harvest's export has no emails), or invited (``invite_unknown``). Used by the
services (which build the parse options) and the pipeline (which invites)."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from common.exceptions import InvalidInput
from common.models import uuid7
from imports.sources.base import person_key
from organizations.models import Company, Invitation, Membership, Role


def emails_by_name(company_id: UUID) -> dict[str, str | None]:
    """The company's active members' emails by full name (``person_key``); None for a name
    that two of them share. Only this company's people: a name never finds anyone else."""
    found: dict[str, str | None] = {}
    for name, email in Membership.objects.filter(company_id=company_id, is_active=True).values_list(
        "user__name", "user__email"
    ):
        key = person_key(name)
        if key:
            found[key] = None if key in found else email.lower()
    return found


# --------------------------------------------------------------------------- inviting unknown people


def person_invite(*, company: Company, email: str, invited_by: User, dry_run: bool, adding: int) -> UUID:
    """The account an unknown email's rows go to when the import invites unknown people
    (docs/imports.md, "Inviting unknown people"): the existing account of that email, or a
    new one without a password, with an *inactive* membership (MEMBER) in ``company`` and a
    pending invitation mailed to it. Accepting the invitation activates that membership
    (``invitation_accept``: "a former member comes back"), with the entries already theirs.
    A dry run checks the same (the email, the plan's seats with ``adding`` more) and writes
    nothing: the id it returns belongs to no row. Refusals are ServiceErrors (error rows)."""
    from organizations import plans
    from organizations import services as organizations

    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not an email address to invite.", code="invalid", attr="email") from None
    if dry_run:
        with transaction.atomic():  # plans.check locks the company row for its count
            plans.check(company, plans.MEMBERS, adding=adding)
        return uuid7()
    with transaction.atomic():  # a refusal (the plan's seats) leaves no account behind
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=None, name=email.split("@", 1)[0][:150], default_company=company
            )
        Membership.objects.get_or_create(company=company, user=user, defaults={"role": Role.MEMBER, "is_active": False})
        organizations.invitation_create(company=company, email=email, role=Role.MEMBER, invited_by=invited_by)
    return user.pk


def invited_members(company: Company) -> dict[str, UUID]:
    """Inactive members with a pending invitation of the company, by email: an import that
    invites unknown people matches them without inviting them again."""
    now = timezone.now()
    pending = Invitation.objects.filter(
        company=company, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).values("email")
    return {
        email.lower(): user_id
        for email, user_id in Membership.objects.filter(
            company=company, is_active=False, user__email__in=pending
        ).values_list("user__email", "user_id")
    }
