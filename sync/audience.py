"""Who receives a change: its realtime groups, from the role rules of permissions.py.

- a time entry: its owner's devices, the company's managers, and the LEADs of every team the
  owner is in (a MEMBER never receives another member's entries);
- a task or project: the company's managers, plus the project's teams, or every member when
  the project has no teams (exactly who sees the project)."""

from __future__ import annotations

from collections import defaultdict

from organizations.models import ProjectTeam, TeamMember
from sync import realtime
from sync.models import Change


def groups_for(changes: list[Change]) -> dict[int, list[str]]:
    owners = {c.user_id for c in changes if c.user_id}
    projects = {c.project_id for c in changes if c.entity != "time_entry" and c.project_id}
    teams_of_user: dict = defaultdict(set)
    for user_id, company_id, team_id in TeamMember.objects.filter(user_id__in=owners).values_list(
        "user_id", "company_id", "team_id"
    ):
        teams_of_user[(user_id, company_id)].add(team_id)
    teams_of_project: dict = defaultdict(set)
    for project_id, team_id in ProjectTeam.objects.filter(project_id__in=projects).values_list("project_id", "team_id"):
        teams_of_project[project_id].add(team_id)

    routes = {}
    for change in changes:
        if change.entity in realtime.PRIVATE_ENTITIES:  # the requester's own, nobody else's
            routes[change.id] = [realtime.user_group(change.user_id)]
            continue
        groups = [realtime.company_managers_group(change.company_id)]
        if change.entity == "time_entry" or (change.user_id and not change.project_id):
            groups.append(realtime.user_group(change.user_id))
            groups += [realtime.team_leads_group(t) for t in sorted(teams_of_user[(change.user_id, change.company_id)])]
        elif change.project_id:
            teams = teams_of_project[change.project_id]
            groups += [realtime.team_all_group(t) for t in sorted(teams)] or [
                realtime.company_all_group(change.company_id)
            ]
        routes[change.id] = groups
    return routes
