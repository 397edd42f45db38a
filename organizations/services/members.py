"""Members and invitations: roles (never without an OWNER), leaving, inviting, accepting
(single use, 7 days)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import structlog
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import user_cache
from accounts.models import User, normalize_email
from accounts.tokens import hash_token, new_opaque_token
from audit import recording as audit
from changelog import audience, publishing
from common.exceptions import ConflictError, GoneError, NotFoundError
from common.links import public_url
from organizations import plans
from organizations.models import (
    Company,
    Invitation,
    Membership,
    Role,
    TeamMember,
)

logger = structlog.get_logger(__name__)


INVITATION_LIFETIME = timedelta(days=7)


# --------------------------------------------------------------------------- members


def _lock_owners(company_id: UUID) -> list[Membership]:
    # Locking every OWNER row serialises concurrent demotions and removals, so two admins
    # demoting the last two OWNERs at once cannot leave the company with none.
    return list(Membership.objects.select_for_update().filter(company_id=company_id, role=Role.OWNER, is_active=True))


def _ensure_not_last_owner(membership: Membership) -> None:
    owners = _lock_owners(membership.company_id)
    if membership.role == Role.OWNER and [o.pk for o in owners] == [membership.pk]:
        raise ConflictError(
            "A company needs at least one OWNER: make someone else OWNER first.", code="last_owner", attr="role"
        )


def _audit_membership(membership: Membership, *, action: str, actor: User | None, changes: dict | None = None) -> None:
    audit.record(
        action=action,
        target_type="membership",
        target_id=membership.pk,
        company_id=membership.company_id,
        actor=actor,
        subject_user_id=membership.user_id,
        changes=changes,
    )


@transaction.atomic
def member_update(*, membership: Membership, changes: dict, actor: User | None = None) -> Membership:
    """``actor``: who made the change, for the audit log (None: the system)."""
    if "role" in changes and changes["role"] != Role.OWNER:
        _ensure_not_last_owner(membership)
    if changes.get("is_active") and not membership.is_active:  # back in: takes a seat again
        plans.check(membership.company, plans.MEMBERS)
    if changes.get("screenshots_enabled") and not membership.screenshots_enabled:
        plans.check(membership.company, plans.SCREENSHOTS)
    before = audit.snapshot(membership, changes)
    for field, value in changes.items():
        setattr(membership, field, value)
    if changes:
        membership.save(update_fields=[*changes, "updated_at"])
    if {"role", "is_active"} & set(changes):
        refresh_sockets_on_commit(membership.user_id)
    changed = audit.diff(before, audit.snapshot(membership, changes))
    if changed:
        if "is_active" in changed:  # the admin's form can (re)activate a member
            action = "membership.added" if membership.is_active else "membership.removed"
        else:
            action = "membership.role_changed" if "role" in changed else "membership.updated"
        _audit_membership(membership, action=action, actor=actor, changes=changed)
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User | None = None) -> None:
    """Deactivate (their entries stay the company's) and drop them from its teams."""
    _ensure_not_last_owner(membership)
    was_active = membership.is_active
    membership.is_active = False
    membership.save(update_fields=["is_active", "updated_at"])
    if was_active:  # removing a former member again changes nothing worth a row
        _audit_membership(membership, action="membership.removed", actor=actor, changes={"is_active": [True, False]})
    TeamMember.objects.filter(company_id=membership.company_id, user_id=membership.user_id).delete()
    # No longer theirs to default to (scoping skips a stale default anyway; /me stops showing it).
    defaulted = User.objects.filter(pk=membership.user_id, default_company_id=membership.company_id)
    if defaulted.update(default_company=None):
        user_cache.user_changed([membership.user_id])  # an UPDATE sends no post_save
    refresh_sockets_on_commit(membership.user_id)


def refresh_sockets_on_commit(user_id: UUID) -> None:
    """The user's sockets reconnect (4403) once this commits, joining the groups their
    memberships allow now; robust: a channel-layer outage must not fail the change."""
    groups = [audience.user_group(user_id)]
    transaction.on_commit(
        lambda: publishing.send_to_groups(groups, {"type": publishing.CONTROL_MESSAGE, "action": "refresh"}),
        robust=True,
    )


# --------------------------------------------------------------------------- invitations


def accept_url(token: str, *, request: HttpRequest | None = None) -> str:
    """The invitation page (accounts.web), on PUBLIC_URL or else the inviting request's address."""
    return public_url(f"/invitations/{token}/accept", request=request)


@transaction.atomic
def invitation_create(
    *, company: Company, email: str, role: str, invited_by: User, request: HttpRequest | None = None
) -> tuple[Invitation, str]:
    email = normalize_email(email)
    if Membership.objects.filter(company=company, user__email=email, is_active=True).exists():
        raise ConflictError("This person is already a member.", code="already_member", attr="email")
    plans.check(company, plans.MEMBERS)  # a pending invitation holds a seat
    token = new_opaque_token()
    invitation = Invitation.objects.create(
        company=company,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    link = accept_url(token, request=request)
    transaction.on_commit(lambda: _send_invitation_email(invitation, link))
    return invitation, token


def _send_invitation_email(invitation: Invitation, link: str) -> None:
    inviter = invitation.invited_by.name if invitation.invited_by else "Someone"
    try:
        send_mail(
            subject=f"{inviter} invited you to {invitation.company.name} on Stint",
            message=(
                f"{inviter} invited you to join {invitation.company.name} on Stint as {invitation.role}.\n\n"
                f"Sign in or create an account, then accept within 7 days:\n\n{link}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:  # the invitation stands (its token was returned); log, do not 500
        logger.exception("invitation_email_failed", invitation_id=str(invitation.id))


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("company")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise NotFoundError("No such invitation.", code="not_found")
    if invitation.revoked_at is not None:
        raise GoneError("This invitation was revoked.", code="invitation_revoked")
    if invitation.accepted_at is not None:
        raise GoneError("This invitation was already used.", code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise GoneError("This invitation has expired.", code="invitation_expired")
    membership = Membership.objects.select_for_update().filter(company=invitation.company, user=user).first()
    if membership is not None and membership.is_active:
        raise ConflictError("You are already a member of this company.", code="already_member")
    # The invitation held its seat since it was sent (adding 0); a plan lowered meanwhile
    # below the members already there refuses it.
    plans.check(invitation.company, plans.MEMBERS, adding=0)
    if membership is None:
        membership = Membership.objects.create(company=invitation.company, user=user, role=invitation.role)
    else:  # a former member comes back with the invited role
        membership.is_active, membership.role = True, invitation.role
        membership.save(update_fields=["is_active", "role", "updated_at"])
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    # The invitee acts (they accepted); the role is the inviter's choice, named in changes.
    _audit_membership(
        membership,
        action="membership.added",
        actor=user,
        changes={"role": [None, membership.role], "invitation_id": [None, invitation.pk]},
    )
    return membership
