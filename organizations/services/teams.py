"""Teams and their members (a team's members are members of its company)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import UUID

import structlog
from django.db import IntegrityError, transaction

from accounts.models import User
from audit import recording as audit
from common.exceptions import ConflictError, InvalidInput
from organizations.models import (
    Company,
    Membership,
    Team,
    TeamMember,
    TeamRole,
)
from organizations.services.members import refresh_sockets_on_commit

logger = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- teams


@contextlib.contextmanager
def unique_name(what: str) -> Iterator[None]:
    """A savepoint whose unique-name violation (per company, case-insensitive) becomes a 409."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise ConflictError(f"A {what} with this name already exists.", code="duplicate_name", attr="name") from exc


@transaction.atomic
def team_create(*, company: Company, name: str) -> Team:
    with unique_name("team"):
        return Team.objects.create(company=company, name=name)


@transaction.atomic
def team_update(*, team: Team, name: str) -> Team:
    team.name = name
    with unique_name("team"):
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
    refresh_sockets_on_commit(user_id)  # their sockets join the team's groups
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
    refresh_sockets_on_commit(team_member.user_id)  # a new LEAD gets the team's events
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
    refresh_sockets_on_commit(team_member.user_id)
    if stored is not None:
        user_id, team_id, role = stored
        gone = TeamMember(pk=pk, company_id=team_member.company_id, user_id=user_id, team_id=team_id, role=role)
        _audit_team_member(
            gone,
            action="team_member.removed",
            actor=actor,
            changes={"team_id": [gone.team_id, None], "role": [gone.role, None]},
        )
