"""Who receives a change: its realtime groups, from the role rules of permissions.py.

Groups (channels group names):
    u.<user>               the user's own devices
    c.<company>.managers   OWNER, ADMIN and MANAGER dashboards of a company
    c.<company>.all        every active member (projects without teams, their tasks)
    t.<team>.leads         the team's LEADs (their members' entries)
    t.<team>.all           the team's members (projects of that team, their tasks)
    s.<session>            one device session's sockets (closed when it is revoked)


- a time entry: its owner's devices, the company's managers, and the LEADs of every team the
  owner is in (a MEMBER never receives another member's entries);
- a task or project: the company's managers, plus the project's teams, or every member when
  the project has no teams (exactly who sees the project).

Team membership is the organizations app's to know; it tells this module through
``set_team_lookup`` when it is ready (the change log imports no domain app)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from changelog import catalogue
from changelog.models import Change

# Entities only their user sees in the change log and on sockets (an export's report.ready:
# other people's exports are not a manager's business, whatever their role).
PRIVATE_ENTITIES = catalogue.entities(catalogue.Audience.PRIVATE)
# A member's own data (their entries, their screenshots): read by whoever may read that member's
# data (SPEC roles: managers, their team's LEADs, themselves). The rest is project structure.
USER_DATA_ENTITIES = catalogue.entities(catalogue.Audience.USER_DATA)


def user_group(user_id) -> str:
    return f"u.{user_id}"


def company_managers_group(company_id) -> str:
    return f"c.{company_id}.managers"


def company_all_group(company_id) -> str:
    return f"c.{company_id}.all"


def team_leads_group(team_id) -> str:
    return f"t.{team_id}.leads"


def team_all_group(team_id) -> str:
    return f"t.{team_id}.all"


def session_group(session_id) -> str:
    return f"s.{session_id}"


@dataclass(frozen=True)
class TeamLookup:
    """Team memberships, read in bulk: ``(user_id, company_id, team_id)`` of the given users,
    ``(project_id, team_id)`` of the given projects."""

    teams_of_users: Callable[[set], Iterable[tuple]]
    teams_of_projects: Callable[[set], Iterable[tuple]]


_lookup: TeamLookup | None = None


def set_team_lookup(lookup: TeamLookup) -> None:
    global _lookup
    _lookup = lookup


def groups_for(changes: list[Change]) -> dict[int, list[str]]:
    owners = {c.user_id for c in changes if c.user_id}
    projects = {c.project_id for c in changes if c.entity not in USER_DATA_ENTITIES and c.project_id}
    teams_of_user: dict = defaultdict(set)
    teams_of_project: dict = defaultdict(set)
    assert _lookup is not None, "organizations sets the team lookup when the app registry is ready"
    for user_id, company_id, team_id in _lookup.teams_of_users(owners):
        teams_of_user[(user_id, company_id)].add(team_id)
    for project_id, team_id in _lookup.teams_of_projects(projects):
        teams_of_project[project_id].add(team_id)

    routes = {}
    for change in changes:
        if change.entity in PRIVATE_ENTITIES:  # the requester's own, nobody else's
            routes[change.id] = [user_group(change.user_id)]
            continue
        groups = [company_managers_group(change.company_id)]
        if change.entity in USER_DATA_ENTITIES or (change.user_id and not change.project_id):
            groups.append(user_group(change.user_id))
            groups += [team_leads_group(t) for t in sorted(teams_of_user[(change.user_id, change.company_id)])]
        elif change.project_id:
            teams = teams_of_project[change.project_id]
            groups += [team_all_group(t) for t in sorted(teams)] or [company_all_group(change.company_id)]
        routes[change.id] = groups
    return routes
