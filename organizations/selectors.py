"""Reads of the organizations app. Every selector takes the caller (a membership, or the user
for cross-company lists) and returns a queryset already limited to what the caller may see,
with its own select_related/prefetch, so list endpoints run a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db.models import Count, F, IntegerField, Prefetch, QuerySet, Value

from accounts.tokens import hash_token
from organizations import permissions
from organizations.models import Client, Company, Invitation, Membership, Project, ProjectTeam, Team, TeamMember


def company_list(*, memberships: list[Membership]) -> QuerySet[Company]:
    """The caller's companies (those of their active ``memberships``: a company-bound personal
    token's request has only that one), each annotated with the caller's ``my_role``."""
    return Company.objects.filter(memberships__in=memberships).annotate(my_role=F("memberships__role"))


def member_list(*, membership: Membership) -> QuerySet[Membership]:
    return Membership.objects.filter(company_id=membership.company_id, is_active=True).select_related("user")


def _pending_invitations() -> QuerySet[Invitation]:
    """Not accepted, revoked or expired (invitation_accept refuses those, each with its reason)."""
    from django.utils import timezone

    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def invitation_list(*, membership: Membership) -> QuerySet[Invitation]:
    """Pending invitations (not accepted, revoked or expired are left out)."""
    return _pending_invitations().filter(company_id=membership.company_id)


def invitation_for_token(*, token: str) -> Invitation | None:
    """The pending invitation a token opens, for the invitation page: the token is the
    credential (whoever holds the emailed link may see the company's name and the role)."""
    return _pending_invitations().select_related("company", "invited_by").filter(token_hash=hash_token(token)).first()


def team_list(*, memberships: list[Membership]) -> QuerySet[Team]:
    return (
        Team.objects.filter(company_id__in=[m.company_id for m in memberships])
        .annotate(member_count=Count("members", distinct=True))
        .order_by("name", "id")
    )


def team_member_list(*, team: Team) -> QuerySet[TeamMember]:
    return TeamMember.objects.filter(team=team).select_related("user")


def client_list(*, memberships: list[Membership]) -> QuerySet[Client]:
    return Client.objects.filter(company_id__in=[m.company_id for m in memberships]).order_by("name", "id")


def project_list(*, memberships: list[Membership], archived: str = "false") -> QuerySet[Project]:
    """Projects the caller sees in the given companies. ``archived`` is true, false or all.
    ``tracked_seconds`` and ``open_task_count`` are computed in this query (annotations
    provided by the tracking app)."""
    if not memberships:
        return Project.objects.none()
    visible = permissions.visible_projects_in_any_q(memberships)
    qs = Project.objects.filter(visible)
    if archived == "true":
        qs = qs.filter(archived_at__isnull=False)
    elif archived == "false":
        qs = qs.filter(archived_at__isnull=True)
    return (
        qs.select_related("client")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.only("id")))
        .annotate(**project_stats_annotations())
        .order_by("name", "id")
    )


def _zero_stats() -> dict[str, Any]:
    return {
        "tracked_seconds": Value(0, output_field=IntegerField()),
        "open_task_count": Value(0, output_field=IntegerField()),
    }


# Organizations sits below tracking and must not import it; tracking installs the real
# annotations (correlated subqueries over entries and tasks) when its app is ready.
_project_stats_provider = _zero_stats


def set_project_stats_provider(provider: Callable[[], dict[str, Any]]) -> None:
    global _project_stats_provider
    _project_stats_provider = provider


def project_stats_annotations() -> dict[str, Any]:
    return _project_stats_provider()


def visible_project(*, memberships: list[Membership], project_id: UUID) -> tuple[Project, Membership] | None:
    """The project, if one of the caller's memberships sees it, with that membership: one
    query whatever the number of companies (None for another company's or a missing id)."""
    if not memberships:
        return None
    visible = permissions.visible_projects_in_any_q(memberships)
    project = Project.objects.filter(visible, pk=project_id).first()
    if project is None:
        return None
    return project, next(m for m in memberships if m.company_id == project.company_id)


def teams_of_users(user_ids: set) -> list[tuple]:
    """``(user_id, company_id, team_id)`` of every team the users are in (change routing)."""
    return list(TeamMember.objects.filter(user_id__in=user_ids).values_list("user_id", "company_id", "team_id"))


def teams_of_projects(project_ids: set) -> list[tuple]:
    """``(project_id, team_id)`` of every team the projects are shared with (change routing)."""
    return list(ProjectTeam.objects.filter(project_id__in=project_ids).values_list("project_id", "team_id"))
