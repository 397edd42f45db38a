"""The role table of SPEC.md, and the only place that knows it.

                                   OWNER   ADMIN          MANAGER  team LEAD    MEMBER
    company settings, billing      yes     settings only
    members, invitations, teams    yes     yes
    clients, projects, tasks       yes     yes            yes                   tasks in visible projects
    read others' data (entries,    all     all            all      their teams  own only
      screenshots, activity, reports)
    edit others' entries           yes     yes
    delete a screenshot            yes     yes                                  own, within 10 minutes of upload
    approve or reject timesheets   yes     yes            yes      their teams  (never one's own)
    lock periods (locked_until)    yes     yes
    the company's audit log        yes     yes
    webhook endpoints, deliveries  yes     yes
    own audit trail (?mine=true)   yes     yes            yes      yes          yes

Every viewset, selector, consumer and admin class asks these functions; none of them compares
roles itself. Everything starts from the caller's *active* membership, read fresh on each
request, so a removed member loses access on their next request whatever their token says.
Reads of another company's rows are filtered out (404), never refused (403).
"""

from __future__ import annotations

from datetime import timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from organizations.models import Membership, Project, ProjectTeam, Role, TeamMember, TeamRole

if TYPE_CHECKING:
    from accounts.models import User

COMPANY_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
COMPANY_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})
SCREENSHOT_SELF_DELETE_WINDOW = timedelta(minutes=10)


# --------------------------------------------------------------------------- memberships


def active_memberships(user: User) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    found = Membership.objects.filter(user=user, is_active=True).select_related("company")
    # A request made with a personal access token bound to one company acts there only
    # (accounts.authentication.PersonalTokenAuthentication sets it): every company lookup of
    # the request starts here, so naming another company is a 404 like any not-yours company.
    if user.acting_company_id is not None:
        found = found.filter(company_id=user.acting_company_id)
    return found


def membership_in(user: User, company_id) -> Membership | None:
    """The caller's active membership in a company, or None (treat as "does not exist")."""
    return active_memberships(user).filter(company_id=company_id).first()


def admin_company_ids(user: User) -> list:
    """Companies whose Django admin this user may enter (OWNER or ADMIN)."""
    return list(active_memberships(user).filter(role__in=COMPANY_ADMINS).values_list("company_id", flat=True))


# --------------------------------------------------------------------------- company, people


def can_change_company_settings(m: Membership) -> bool:
    return m.role in COMPANY_ADMINS


def can_change_billing(m: Membership) -> bool:
    return m.role == Role.OWNER


def can_manage_members(m: Membership) -> bool:
    """Members, invitations and teams."""
    return m.role in COMPANY_ADMINS


def can_grant_role(m: Membership, role: str) -> bool:
    """Only an OWNER makes or unmakes OWNERs; ADMINs manage every other role."""
    return can_manage_members(m) and (role != Role.OWNER or m.role == Role.OWNER)


def can_change_member(m: Membership, target: Membership) -> bool:
    return can_manage_members(m) and (target.role != Role.OWNER or m.role == Role.OWNER)


# --------------------------------------------------------------------------- work structure


def can_manage_privacy_rules(m: Membership) -> bool:
    """What heartbeats may store (drop/redact rules): the company's OWNER and ADMIN."""
    return m.role in COMPANY_ADMINS


def can_see_others_exports(m: Membership) -> bool:
    """Report exports are private to their requester and the company's OWNER and ADMIN."""
    return m.role in COMPANY_ADMINS


def can_see_others_imports(m: Membership) -> bool:
    """Imports are private to their requester and the company's OWNER and ADMIN (the role
    table's "imports for others"; whose rows an import may write: ``can_edit_user_entries``)."""
    return m.role in COMPANY_ADMINS


def can_manage_projects(m: Membership) -> bool:
    """Clients and projects (and, for the tracking app, every task)."""
    return m.role in COMPANY_MANAGERS


def visible_projects_q(m: Membership) -> Q:
    """The projects the member sees, as a filter on Project: managers see all the company's;
    others those with no teams or with a team of theirs. Other models filter by
    ``project__in=visible_projects(m)``."""
    q = Q(company_id=m.company_id)
    if m.role in COMPANY_MANAGERS:
        return q
    has_teams = Exists(ProjectTeam.objects.filter(project_id=OuterRef("pk")))
    in_my_team = Exists(ProjectTeam.objects.filter(project_id=OuterRef("pk"), team__members__user_id=m.user_id))
    return q & (~has_teams | in_my_team)


def visible_projects(m: Membership) -> QuerySet[Project]:
    return Project.objects.filter(visible_projects_q(m))


def can_manage_tasks_in(m: Membership, project: Project) -> bool:
    if project.company_id != m.company_id:
        return False
    if m.role in COMPANY_MANAGERS:
        return True
    return visible_projects(m).filter(pk=project.pk).exists()


# --------------------------------------------------------------------------- people's data


def _led_user_ids(m: Membership) -> QuerySet:
    """User ids in the teams this member leads (themselves included, when they lead)."""
    return TeamMember.objects.filter(
        company_id=m.company_id,
        team__members__user_id=m.user_id,
        team__members__role=TeamRole.LEAD,
    ).values("user_id")


def is_team_lead(team_member: TeamMember) -> bool:
    """A LEAD reads their team members' data and receives their events."""
    return team_member.role == TeamRole.LEAD


def readable_users_q(m: Membership, field: str = "user_id") -> Q:
    """Whose entries, screenshots, activity and reports the member may read, as a filter on a
    company-owned row whose ``field`` is a user id: managers everyone in the company, a LEAD
    their teams' members and themselves, a MEMBER themselves."""
    q = Q(company_id=m.company_id)
    if m.role in COMPANY_MANAGERS:
        return q
    return q & (Q(**{field: m.user_id}) | Q(**{f"{field}__in": _led_user_ids(m)}))


def readable_users_in_any_q(memberships: list[Membership]) -> Q:
    """``readable_users_q`` over all the caller's memberships (callers check they have one)."""
    return reduce(or_, [readable_users_q(m) for m in memberships])


def visible_projects_in_any_q(memberships: list[Membership]) -> Q:
    """``visible_projects_q`` over all the caller's memberships (callers check they have one)."""
    return reduce(or_, [visible_projects_q(m) for m in memberships])


def can_read_user_data(m: Membership, user_id) -> bool:
    if m.role in COMPANY_MANAGERS or str(user_id) == str(m.user_id):
        return True
    return _led_user_ids(m).filter(user_id=user_id).exists()


def can_edit_user_entries(m: Membership, user_id) -> bool:
    return str(user_id) == str(m.user_id) or m.role in COMPANY_ADMINS


# --------------------------------------------------------------------------- timesheets


def can_submit_timesheet(m: Membership, user_id) -> bool:
    """A member submits their own week; an OWNER or ADMIN may submit for anyone of the company
    (someone leaving, someone on leave)."""
    return str(user_id) == str(m.user_id) or m.role in COMPANY_ADMINS


def can_decide_timesheet(m: Membership, user_id) -> bool:
    """Approve or reject: OWNER, ADMIN, MANAGER, or a LEAD of one of the member's teams;
    never one's own sheet (the service says so with its own error)."""
    if str(user_id) == str(m.user_id):
        return False
    if m.role in COMPANY_MANAGERS:
        return True
    return _led_user_ids(m).filter(user_id=user_id).exists()


def can_reopen_timesheet(m: Membership, *, user_id, status: str) -> bool:
    """OWNER and ADMIN reopen any sheet; the member takes back their own only while it waits
    for a decision (SUBMITTED): once decided, that is an admin's call."""
    if m.role in COMPANY_ADMINS:
        return True
    return str(user_id) == str(m.user_id) and status == "SUBMITTED"


def can_lock_periods(m: Membership) -> bool:
    """``locked_until`` (SPEC roles: "lock periods"): OWNER and ADMIN."""
    return m.role in COMPANY_ADMINS


def can_delete_screenshot(m: Membership, *, owner_id, uploaded_at, now) -> bool:
    # From upload (the server's clock), never from captured_at: the tracker chooses that one, and
    # a forward-dated capture kept the member's window open for as long as they liked.
    if m.role in COMPANY_ADMINS:
        return True
    return str(owner_id) == str(m.user_id) and now - uploaded_at <= SCREENSHOT_SELF_DELETE_WINDOW


def can_read_team_reports(m: Membership) -> bool:
    """The dashboard's Team panel: whoever reads someone else's data (managers, team LEADs)."""
    if m.role in COMPANY_MANAGERS:
        return True
    return TeamMember.objects.filter(company_id=m.company_id, user_id=m.user_id, role=TeamRole.LEAD).exists()


# --------------------------------------------------------------------------- audit log


def can_manage_webhooks(m: Membership) -> bool:
    """The company's webhook endpoints, their secrets and delivery logs (``/webhooks``)."""
    return m.role in COMPANY_ADMINS


def can_read_audit_log(m: Membership) -> bool:
    """The whole company's audit log (``GET /audit-log``). Everyone reads their own trail
    (``?mine=true``: what others did to their data), which needs no check beyond membership."""
    return m.role in COMPANY_ADMINS
