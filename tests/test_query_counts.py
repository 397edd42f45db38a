"""No list endpoint runs a query per row (ARCHITECTURE 4).

Every GET route of /api/v1/ that answers with a collection is called over a world grown by one
batch of rows of every kind (members, teams, clients, projects, tasks and subtasks, entries,
invitations, privacy rules, screenshots, exports, device sessions, app usage, changes), then
over the same world grown by two more batches, and must run exactly the same number of queries
both times: a query per project, task, entry or member would add queries the second time. The
owner reads them all; a team lead, who reads through their teams, the ones that show others' rows.

The routes come from the URL conf (walked as tests/test_isolation_matrix.py walks it): every GET
route is either in ``LISTS`` (how to call it) or in ``SINGLE`` (why it answers one object), and
the test that checks this fails on a new route, so a new list endpoint cannot be missed."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from accounts.personal_tokens import personal_token_create
from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import MembershipFactory
from activity import partitions
from activity import services as activity_services
from activity.appusage import Beat, appusage_merge
from activity.coding import CodingItem, coding_heartbeats_store
from imports.models import ImportJob
from integrations import services as webhook_services
from integrations.models import WebhookDelivery, WebhookEndpoint
from organizations import services as org_services
from organizations.models import Company, Project, Role, Team, TeamRole
from organizations.tests.world import World, api_as
from screenshots import services as screenshot_services
from tests.support.routes import route_methods, walk_patterns
from tracking import services as tracking_services
from tracking.models import Task

DAY = date(2026, 3, 10)  # a Tuesday: the entries and app usage of the reports
DAY_START = datetime(2026, 3, 10, 0, tzinfo=UTC)
BATCH = 3  # rows of each kind per batch: three batches stay within one page of every list


def _name(route: str) -> str:
    """``api/v1/^tasks/(?P<pk>...)/time-entries$`` -> ``tasks/{pk}/time-entries``."""
    route = route.removeprefix("api/v1/").replace("^", "").replace("$", "")
    return re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", lambda m: "{" + (m.group(1) or m.group(2)) + "}", route)


GET_ROUTES = sorted(
    {
        _name(route)
        for route, callback in walk_patterns(get_resolver().url_patterns)
        if route.startswith("api/v1/") and "get" in route_methods(callback)
    }
)


@dataclass
class Grown:
    """The world plus what the batches added (the ids the URLs need)."""

    world: World
    team: Team  # the world's team (the lead's) and open project, which every batch joins
    project: Project
    root_task: Task
    webhook: WebhookEndpoint  # whose delivery log grows
    batches: int = 0
    slot: int = 0  # the next free hour on DAY for an entry (no two entries of a user overlap)

    def next_hour(self) -> datetime:
        self.slot += 1
        return DAY_START + timedelta(minutes=20 * self.slot)


# Each list endpoint: how to call it (the world's objects in the path) -- the owner reads all.
LISTS: dict[str, Callable[[Grown], str]] = {
    "auth/sessions": lambda g: "/api/v1/auth/sessions",
    "auth/tokens": lambda g: "/api/v1/auth/tokens",
    "companies": lambda g: "/api/v1/companies",
    "companies/{pk}/invitations": lambda g: f"/api/v1/companies/{g.world.a.id}/invitations",
    "companies/{pk}/members": lambda g: f"/api/v1/companies/{g.world.a.id}/members",
    "teams": lambda g: "/api/v1/teams",
    "teams/{pk}/members": lambda g: f"/api/v1/teams/{g.team.id}/members",
    "clients": lambda g: "/api/v1/clients",
    "projects": lambda g: "/api/v1/projects",
    "projects/{project_id}/tasks": lambda g: f"/api/v1/projects/{g.project.id}/tasks",
    "tasks": lambda g: "/api/v1/tasks",
    "tasks/{pk}/time-entries": lambda g: f"/api/v1/tasks/{g.root_task.id}/time-entries?descendants=true",
    "time-entries": lambda g: "/api/v1/time-entries",
    "timesheets": lambda g: f"/api/v1/timesheets?from={DAY}&to={DAY}&company={g.world.a.id}",
    "sync/changes": lambda g: "/api/v1/sync/changes?cursor=0",
    "privacy-rules": lambda g: "/api/v1/privacy-rules",
    "reports/apps": lambda g: f"/api/v1/reports/apps?date={DAY}&company={g.world.a.id}",
    "reports/coding": lambda g: f"/api/v1/reports/coding?from={DAY}&to={DAY}&company={g.world.a.id}",
    "reports/daily": lambda g: f"/api/v1/reports/daily?date={DAY}&company={g.world.a.id}",
    "reports/weekly": lambda g: f"/api/v1/reports/weekly?from={DAY}&company={g.world.a.id}",
    "reports/team": lambda g: f"/api/v1/reports/team?from={DAY}&to={DAY}&company={g.world.a.id}",
    "reports/exports": lambda g: "/api/v1/reports/exports",
    "imports": lambda g: "/api/v1/imports",
    "screenshots": lambda g: "/api/v1/screenshots",
    # The batches' team memberships and privacy rules are logged (a page holds 200 at most).
    "audit-log": lambda g: f"/api/v1/audit-log?limit=200&company={g.world.a.id}",
    "webhooks": lambda g: f"/api/v1/webhooks?company={g.world.a.id}",
    "webhooks/{pk}/deliveries": lambda g: f"/api/v1/webhooks/{g.webhook.id}/deliveries",
}
# GET routes that answer one object (or a file): nothing grows with rows there.
SINGLE = {
    "me": "the caller",
    "companies/{pk}": "one company",
    "teams/{pk}": "one team",
    "clients/{pk}": "one client",
    "projects/{pk}": "one project",
    "tasks/{pk}": "one task",
    "time-entries/current": "the running entry or 204",
    "time-entries/{pk}": "one entry",
    "privacy-rules/{pk}": "one rule",
    "reports/exports/{export_id}": "one export",
    "imports/{import_id}": "one import",
    "reports/exports/{export_id}/download": "one file",
    "screenshots/{pk}": "one screenshot",
    "screenshots/{screenshot_id}/{variant}": "one file",
    "webhooks/{pk}": "one webhook endpoint",
}


def test_every_get_route_is_checked_or_said_to_answer_one_object():
    assert len(GET_ROUTES) >= 30, "the URL walk found too few routes"
    unknown = sorted(set(GET_ROUTES) - set(LISTS) - set(SINGLE))
    assert not unknown, f"new GET routes {unknown}: add each to LISTS (a collection) or SINGLE (saying why)"
    gone = sorted((set(LISTS) | set(SINGLE)) - set(GET_ROUTES))
    assert not gone, f"{gone} no longer exist: drop them here"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def _grow(g: Grown) -> None:
    """One batch of every kind of row the lists show, spread over users, teams and projects
    (so a per-row lookup of a user, team, project or task would show)."""
    w, owner = g.world, g.world.users["owner"]
    owner_membership = owner.memberships.get(company=w.a)
    n = g.batches = g.batches + 1
    for i in range(BATCH):
        tag = f"{n}-{i}"
        member: User = MembershipFactory.create(company=w.a, role=Role.MEMBER).user
        team = org_services.team_create(company=w.a, name=f"Team {tag}")
        org_services.team_member_add(team=team, user_id=member.id, role=TeamRole.LEAD)
        org_services.team_member_add(team=g.team, user_id=member.id, role=TeamRole.MEMBER)
        client = org_services.client_create(company=w.a, name=f"Client {tag}")
        project = org_services.project_create(
            company=w.a, data={"name": f"Project {tag}", "client_id": client.id, "team_ids": [team.id, g.team.id]}
        )
        org_services.invitation_create(company=w.a, email=f"invitee-{tag}@a.co", role=Role.MEMBER, invited_by=owner)
        org_services.company_create(owner=owner, name=f"Side company {tag}")  # the owner's companies grow
        activity_services.privacy_rule_create(company=w.a, field="app", pattern=f"secret-{tag}", action="drop")
        session_create(user=owner, device=DeviceInfo(device_name=f"laptop {tag}"), stay_logged_in=False)
        personal_token_create(user=owner, name=f"token {tag}", scopes=["ingest"], company=w.a)
        webhook_services.endpoint_create(company=w.a, url=f"https://93.184.216.34/{tag}", events=["*"])
        WebhookDelivery.objects.create(endpoint=g.webhook, type="test", payload={"tag": tag})

        subtask = tracking_services.task_create(
            project=g.project, data={"title": f"Sub {tag}", "parent_id": g.root_task.id, "estimate_seconds": 60}
        )
        other_task = tracking_services.task_create(project=project, data={"title": f"Task {tag}"})
        for user, task_project, task in [
            (owner, g.project, subtask),
            (member, g.project, g.root_task),
            (member, project, other_task),
        ]:
            start = g.next_hour()
            tracking_services.entry_create(
                membership=user.memberships.get(company=w.a),
                data={
                    "project_id": task_project.id,
                    "task_id": task.id,
                    "started_at": start,
                    "ended_at": start + timedelta(minutes=15),
                },
            )
        shot = screenshot_services.screenshot_upload(
            membership=member.memberships.get(company=w.a),
            fileobj=SimpleUploadedFile("shot.png", _png()),
            captured_at=datetime.now(UTC) - timedelta(minutes=g.slot),
        )
        screenshot_services.screenshot_process(screenshot_id=shot.pk)
        api_as(owner).post(
            "/api/v1/reports/exports",
            {"report": "time_entries", "format": "csv", "from": str(DAY), "to": str(DAY), "company_id": str(w.a.id)},
            format="json",
        )
        ImportJob.objects.create(company=w.a, requested_by=member, source="toggl_csv", timezone="UTC")
        # Each batch's device at its own time: overlapping devices would count once (one app).
        used_at = g.next_hour()
        beats = [
            Beat(used_at + timedelta(seconds=30 * k), 30.0, (str(w.a.id), f"App {tag}", "t", ""), 60.0)
            for k in range(4)
        ]
        appusage_merge(user_id=owner_membership.user_id, device_id=f"laptop-{tag}", beats=beats)
        coding_heartbeats_store(
            company_id=w.a.id,
            user_id=owner.id,
            device_id=f"laptop-{tag}",
            editor=f"Editor {tag}",
            items=[
                CodingItem(
                    time=DAY_START + timedelta(hours=2 + n, minutes=k + i * 5), entity="/a.py", project=f"Project {tag}"
                )
                for k in range(3)
            ],
        )


@pytest.fixture
def grown(world, settings, tmp_path) -> Grown:
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    partitions.ensure(partitions.APP_USAGE, partitions.months_between(DAY_START, DAY_START + timedelta(days=1)))
    assert world.team is not None
    assert world.project_open is not None
    root = tracking_services.task_create(project=world.project_open, data={"title": "Root"})
    webhook = webhook_services.endpoint_create(company=world.a, url="https://93.184.216.34/grown", events=["*"])
    return Grown(world=world, team=world.team, project=world.project_open, root_task=root, webhook=webhook)


def _queries(api: APIClient, url: str) -> int:
    api.get(url)  # warm: per-process caches (the token's session, last_seen_at) are filled once
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.content[:300]!r}"
    return len(captured.captured_queries)


def _nodes(tree: list[dict]) -> int:
    return sum(1 + _nodes(node["children"]) for node in tree)


def _rows(api: APIClient, url: str) -> int:
    body = api.get(url).json()
    if isinstance(body, list):  # the task tree
        return _nodes(body)
    for key in ("results", "changes", "apps", "members"):
        if key in body:
            return len(body[key])
    return sum(len(v) for v in body.values() if isinstance(v, list))


# A team lead reads through their teams (other subqueries than the owner's company-wide reads);
# the rest are the caller's own rows (or, invitations, OWNER and ADMIN only).
LEAD_READS = set(LISTS) - {
    "audit-log",  # OWNER and ADMIN; a lead reads only their own trail (?mine=true)
    "auth/sessions",
    "auth/tokens",
    "companies",
    "companies/{pk}/invitations",
    "privacy-rules",
    "reports/apps",
    "reports/coding",
    "reports/daily",
    "reports/exports",
    "imports",  # the caller's own, and the company's for OWNER and ADMIN: a lead asked for none
    "reports/weekly",
    "webhooks",  # OWNER and ADMIN only
    "webhooks/{pk}/deliveries",
}
# Growing the world is most of the cost (screenshots are processed, exports requested): one
# test per role grows it once and checks every list it reads, naming each that fails.
ROLES = {"owner": sorted(set(LISTS) - {"sync/changes"}), "lead": sorted(LEAD_READS - {"sync/changes"})}


def _check(grown: Grown, role: str, names: list[str]) -> None:
    api = api_as(grown.world.users[role])
    urls = {name: LISTS[name](grown) for name in names}

    # given: the world grown by one batch of everything
    _grow(grown)
    few = {name: (_queries(api, url), _rows(api, url)) for name, url in urls.items()}

    # when: it grows by two more batches
    _grow(grown)
    _grow(grown)
    many = {name: (_queries(api, url), _rows(api, url)) for name, url in urls.items()}

    # then: more rows, not more queries
    failures = []
    for name, url in urls.items():
        (queries_few, rows_few), (queries_many, rows_many) = few[name], many[name]
        if queries_many != queries_few:
            failures.append(f"{url}: {queries_few} queries for one batch, {queries_many} for three")
        if rows_many <= rows_few and name not in {"reports/daily", "reports/weekly"}:  # a row per day
            failures.append(f"{url}: the rows did not grow ({rows_few} -> {rows_many}), so nothing was shown")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_list_runs_as_many_queries_for_three_times_the_rows(grown, role):
    _check(grown, role, ROLES[role])


# The change log is numbered only once its rows are committed: the pull is checked in transactions.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["owner", "lead"])
def test_the_change_pull_runs_as_many_queries_for_three_times_the_changes(grown, role):
    _check(grown, role, ["sync/changes"])
