"""Every write of the organizations app. Callers (API views, the admin, seed_demo) check the
caller's rights with ``organizations.permissions`` first; services hold the business rules
that apply whoever calls: the last OWNER, single-use invitations, same-company references."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Protocol, cast
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts import user_cache
from accounts.models import User, normalize_email
from accounts.tokens import hash_token, new_opaque_token
from audit import recording as audit
from changelog import audience, publishing
from common.db_guards import period_locks_lifted
from common.exceptions import ConflictError, GoneError, InvalidInput, NotFoundError
from common.links import public_url
from common.models import uuid7
from organizations import events, plans
from organizations.models import (
    Client,
    Company,
    Invitation,
    Membership,
    Project,
    ProjectTeam,
    Role,
    SubscriptionStatus,
    Team,
    TeamMember,
    TeamRole,
)

logger = structlog.get_logger(__name__)
INVITATION_LIFETIME = timedelta(days=7)


# --------------------------------------------------------------------------- companies


@transaction.atomic
def company_create(*, owner: User, name: str, timezone: str | None = None) -> Company:
    """A new company with ``owner`` as its first OWNER. Two companies may share a name; their
    slugs differ by a random suffix. The unique index decides races: on a collision the insert
    is retried inside a savepoint with a fresh suffix."""
    base = slugify(name)[:60] or "company"
    slug = base
    for _attempt in range(5):
        try:
            with transaction.atomic():
                company = Company.objects.create(name=name, slug=slug, timezone=timezone or owner.timezone)
            break
        except IntegrityError:
            slug = f"{base}-{uuid7().hex[-8:]}"
    else:  # pragma: no cover - five random collisions in a row
        raise ConflictError("Could not choose a unique slug; try again.", code="slug_conflict")
    Membership.objects.create(company=company, user=owner, role=Role.OWNER)
    return company


# How far ahead ``locked_until`` may go: locking next month's payroll in advance is a plan, a
# date years ahead is a typo that would freeze everyone's timers.
LOCKED_UNTIL_MAX_AHEAD = timedelta(days=365)


class PeriodLockGuard(Protocol):
    def __call__(self, *, company: Company, bound: datetime) -> None: ...


_period_lock_guard: PeriodLockGuard | None = None


def set_period_lock_guard(guard: PeriodLockGuard) -> None:
    """The tracking app's check for a ``locked_until`` that moves later (it waits for the
    company's in-flight entry writes and refuses while a timer runs in the newly locked time:
    tracking.services.timesheets.company_lock_guard). Registered when the app registry is
    ready: this app may not import tracking (docs/timesheets.md, "Layering")."""
    global _period_lock_guard
    _period_lock_guard = guard


def locked_until_end(day: date | None, tz: str) -> datetime | None:
    """The instant ``locked_until`` locks up to: the end of that local day in the company's
    time zone (the database's check computes the same: tracking migration 0006)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


@transaction.atomic
def company_update(*, company: Company, changes: dict, actor: User | None = None) -> Company:
    """Change company settings; every changed field is audited (``company.updated``). A
    ``locked_until`` may be at most a year ahead of the company's today; when the locked time
    grows (a later date, or a time zone that moves its end), the period lock guard runs first.
    ``subscription_status`` goes through ``company_change_plan`` (its own audit row), before the
    settings, which are checked against the new plan (screenshots_enabled: organizations.plans)."""
    changes = dict(changes)
    if "subscription_status" in changes:  # the plan first: the settings below are checked against it
        company = company_change_plan(company=company, plan=changes.pop("subscription_status"), actor=actor)
    # The row lock serialises settings changes: two admins moving locked_until at once are
    # checked one after the other, each against the other's result.
    current = Company.objects.select_for_update(no_key=True).get(pk=company.pk)
    if changes.get("screenshots_enabled") and not current.screenshots_enabled:
        plans.check(current, plans.SCREENSHOTS)
    fields = list(changes)
    before = audit.snapshot(current, fields)
    for field, value in changes.items():
        setattr(current, field, value)
    if "locked_until" in changes and current.locked_until is not None:
        today = timezone.now().astimezone(ZoneInfo(current.timezone)).date()
        if current.locked_until > today + LOCKED_UNTIL_MAX_AHEAD:
            raise InvalidInput(
                f"At most a year ahead: {today + LOCKED_UNTIL_MAX_AHEAD} or earlier.",
                code="too_far_ahead",
                attr="locked_until",
            )
    old_end = locked_until_end(
        before.get("locked_until", current.locked_until), before.get("timezone", current.timezone)
    )
    new_end = locked_until_end(current.locked_until, current.timezone)
    if new_end is not None and (old_end is None or new_end > old_end):
        if _period_lock_guard is None:  # pragma: no cover - the tracking app registers it
            raise ImproperlyConfigured("No period lock guard: is the tracking app installed?")
        _period_lock_guard(company=current, bound=new_end)
    if changes:
        current.save(update_fields=[*changes, "updated_at"])
    changed = audit.diff(before, audit.snapshot(current, fields), fields)
    if changed:
        audit.record(
            action="company.updated",
            target_type="company",
            target_id=current.pk,
            company_id=current.pk,
            actor=actor,
            changes=changed,
        )
    return current


@transaction.atomic
def company_change_plan(*, company: Company, plan: str, actor: User | None = None) -> Company:
    """Move the company to another plan (the admin's "Change plan to" actions, ``manage.py
    set_plan``, the OWNER's PATCH of ``subscription_status``), audited as
    ``company.plan_changed``. A lower plan keeps everything the company has (members,
    screenshots, exports): only additions past the new limits are refused (organizations.plans)."""
    if plan not in SubscriptionStatus.values:
        raise InvalidInput(
            f"Not a plan: choose one of {', '.join(SubscriptionStatus.values)}.",
            code="invalid_choice",
            attr="subscription_status",
        )
    # The lock plans.check takes: a plan change waits for additions counted under the old plan.
    current = Company.objects.select_for_update(no_key=True).get(pk=company.pk)
    before = current.subscription_status
    if before != plan:
        current.subscription_status = plan
        current.save(update_fields=["subscription_status", "updated_at"])
        audit.record(
            action="company.plan_changed",
            target_type="company",
            target_id=current.pk,
            company_id=current.pk,
            actor=actor,
            changes={"subscription_status": [before, plan]},
        )
        logger.info("company_plan_changed", company_id=str(current.pk), before=before, after=plan)
    return current


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
        _refresh_sockets_on_commit(membership.user_id)
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
    _refresh_sockets_on_commit(membership.user_id)


def _refresh_sockets_on_commit(user_id: UUID) -> None:
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


# --------------------------------------------------------------------------- teams


@contextlib.contextmanager
def _unique_name(what: str) -> Iterator[None]:
    """A savepoint whose unique-name violation (per company, case-insensitive) becomes a 409."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise ConflictError(f"A {what} with this name already exists.", code="duplicate_name", attr="name") from exc


@transaction.atomic
def team_create(*, company: Company, name: str) -> Team:
    with _unique_name("team"):
        return Team.objects.create(company=company, name=name)


@transaction.atomic
def team_update(*, team: Team, name: str) -> Team:
    team.name = name
    with _unique_name("team"):
        team.save(update_fields=["name", "updated_at"])
    return team


@transaction.atomic
def team_delete(*, team: Team) -> None:
    team.delete()


def _company_member(company_id: UUID, user_id: UUID, attr: str = "user_id") -> Membership:
    membership = Membership.objects.filter(company_id=company_id, user_id=user_id, is_active=True).first()
    if membership is None:
        # Same answer for "no such user" and "a user of another company": nothing leaks.
        raise InvalidInput("Not a member of this company.", code="not_a_member", attr=attr)
    return membership


def _audit_team_member(team_member: TeamMember, *, action: str, actor: User | None, changes: dict) -> None:
    # A team's LEAD reads its members' data: who joined, left or led a team is a role change.
    audit.record(
        action=action,
        target_type="team_member",
        target_id=team_member.pk,
        company_id=team_member.company_id,
        actor=actor,
        subject_user_id=team_member.user_id,
        changes=changes,
    )


@transaction.atomic
def team_member_add(*, team: Team, user_id: UUID, role: str = TeamRole.MEMBER, actor: User | None = None) -> TeamMember:
    _company_member(team.company_id, user_id)
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(company_id=team.company_id, team=team, user_id=user_id, role=role)
    except IntegrityError as exc:
        raise ConflictError("Already in this team.", code="already_in_team", attr="user_id") from exc
    _refresh_sockets_on_commit(user_id)  # their sockets join the team's groups
    _audit_team_member(
        member, action="team_member.added", actor=actor, changes={"team_id": [None, team.pk], "role": [None, role]}
    )
    return member


@transaction.atomic
def team_member_update(*, team_member: TeamMember, role: str, actor: User | None = None) -> TeamMember:
    # As stored, not as passed: the admin's inline hands over an instance carrying the new role.
    before = TeamMember.objects.filter(pk=team_member.pk).values_list("role", flat=True).first()
    team_member.role = role
    team_member.save(update_fields=["role", "updated_at"])
    _refresh_sockets_on_commit(team_member.user_id)  # a new LEAD gets the team's events
    if before != role:
        _audit_team_member(
            team_member, action="team_member.role_changed", actor=actor, changes={"role": [before, role]}
        )
    return team_member


@transaction.atomic
def team_member_remove(*, team_member: TeamMember, actor: User | None = None) -> None:
    # Who and what as stored: the admin's inline may hand over an instance already edited.
    pk = team_member.pk  # Django clears it on delete; the log names the row that went
    stored = TeamMember.objects.filter(pk=pk).values_list("user_id", "team_id", "role").first()
    team_member.delete()
    _refresh_sockets_on_commit(team_member.user_id)
    if stored is not None:
        user_id, team_id, role = stored
        gone = TeamMember(pk=pk, company_id=team_member.company_id, user_id=user_id, team_id=team_id, role=role)
        _audit_team_member(
            gone,
            action="team_member.removed",
            actor=actor,
            changes={"team_id": [gone.team_id, None], "role": [gone.role, None]},
        )


# --------------------------------------------------------------------------- clients


@transaction.atomic
def client_create(*, company: Company, name: str) -> Client:
    with _unique_name("client"):
        return Client.objects.create(company=company, name=name)


@transaction.atomic
def client_update(*, client: Client, name: str) -> Client:
    client.name = name
    with _unique_name("client"):
        client.save(update_fields=["name", "updated_at"])
    return client


@transaction.atomic
def client_delete(*, client: Client) -> None:
    client.delete()  # its projects keep going, without a client (SET_NULL)


# --------------------------------------------------------------------------- projects

PROJECT_FIELDS = ("name", "color", "billable", "hourly_rate_cents", "currency", "estimate_seconds")


def _same_company_client(company_id: UUID, client_id: UUID | None) -> Client | None:
    if client_id is None:
        return None
    client = Client.objects.filter(company_id=company_id, pk=client_id).first()
    if client is None:
        raise InvalidInput("No such client in this company.", code="does_not_exist", attr="client_id")
    return client


def _set_teams(project: Project, team_ids: Iterable) -> None:
    team_ids = set(team_ids)
    teams = list(Team.objects.filter(company_id=project.company_id, pk__in=team_ids))
    if len(teams) != len(team_ids):
        raise InvalidInput("No such team in this company.", code="does_not_exist", attr="team_ids")
    ProjectTeam.objects.filter(project=project).exclude(team__in=teams).delete()
    existing = set(ProjectTeam.objects.filter(project=project).values_list("team_id", flat=True))
    ProjectTeam.objects.bulk_create(
        [ProjectTeam(company_id=project.company_id, project=project, team=t) for t in teams if t.pk not in existing]
    )


@transaction.atomic
def project_create(*, company: Company, data: dict) -> Project:
    project = Project(company=company, **{k: v for k, v in data.items() if k in PROJECT_FIELDS})
    if "id" in data and data["id"] is not None:
        if Project.objects.filter(pk=data["id"]).exists():
            raise ConflictError("A project with this id already exists.", code="duplicate_id", attr="id")
        project.id = data["id"]
    project.client = _same_company_client(company.pk, data.get("client_id"))
    project.save()
    if data.get("team_ids"):
        _set_teams(project, data["team_ids"])
    events.project_changed(project)
    return project


@transaction.atomic
def project_update(*, project: Project, data: dict) -> Project:
    fields = [k for k in data if k in PROJECT_FIELDS]
    for field in fields:
        setattr(project, field, data[field])
    if "client_id" in data:
        project.client = _same_company_client(project.company_id, data["client_id"])
        fields.append("client")
    if fields:
        project.save(update_fields=[*fields, "updated_at"])
    if "team_ids" in data:
        _set_teams(project, data["team_ids"] or [])
    events.project_changed(project)
    return project


@transaction.atomic
def project_archive(*, project: Project) -> Project:
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
        events.project_changed(project)
    return project


@transaction.atomic
def project_unarchive(*, project: Project) -> Project:
    if project.archived_at is not None:
        project.archived_at = None
        project.save(update_fields=["archived_at", "updated_at"])
        events.project_changed(project)
    return project


# --------------------------------------------------------------------------- deleting a company


@transaction.atomic
def company_delete(*, company: Company) -> None:
    """Delete a company and everything it owns (an operator's shell; the admin's delete goes
    here too). Its time entries go with it, locked periods included: the database's
    locked-period check is lifted for this one transaction (``period_locks_lifted``), because a
    lock protects the company's signed-off time from edits, and with the company gone there is
    nothing left to protect."""
    with period_locks_lifted():
        # Rows that PROTECT a project (time entries: a project with time is archived, never
        # deleted) would stop the cascade; the company's own go first. Found through the
        # relation, not an import: organizations sits below the apps that own them.
        for relation in Project._meta.related_objects:
            if relation.on_delete is models.PROTECT:
                protecting = cast(type[models.Model], relation.related_model)  # a model, never "self" here
                protecting._base_manager.filter(**{f"{relation.field.name}__company": company}).delete()
        company.delete()
