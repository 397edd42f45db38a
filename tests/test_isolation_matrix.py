"""Tenant isolation, generated from the URL router: every /api/v1/ route with a path parameter,
with every method its view allows, called by company A's owner with company B's ids, answers
404 and changes nothing in the database.

The routes come from ``get_resolver()``, not from a list kept by hand, so a new route is in the
matrix the day it is added. A path parameter the matrix has no company-B object for fails the
test (it never skips): give it one in ``OBJECTS`` or, if the parameter is not another tenant's
object id, say why in ``NOT_OBJECT_IDS`` / ``ALLOWED_WITHOUT_OBJECT``."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps
from django.urls import get_resolver

from accounts.personal_tokens import personal_token_create
from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import MembershipFactory
from activity import services as activity_services
from imports.models import ImportJob
from integrations import services as webhook_services
from integrations.models import WebhookDelivery
from organizations import services as org_services
from organizations.models import Role, TeamRole
from organizations.tests.world import api_as
from reports import services as report_services
from screenshots import services as screenshot_services
from tests.support.routes import route_methods, walk_patterns
from tracking import services as tracking_services

# (first path segment, parameter) -> the company-B object whose id goes there.
OBJECTS = {
    ("auth", "session_id"): "session",
    ("auth", "token_id"): "token",
    ("companies", "pk"): "company",
    ("companies", "invitation_id"): "invitation",
    ("companies", "user_id"): "member",
    ("teams", "pk"): "team",
    ("teams", "user_id"): "member",
    ("clients", "pk"): "client",
    ("projects", "pk"): "project",
    ("projects", "project_id"): "project",
    ("tasks", "pk"): "task",
    ("time-entries", "pk"): "entry",
    ("timesheets", "pk"): "timesheet",
    ("privacy-rules", "pk"): "rule",
    ("reports", "export_id"): "export",
    ("imports", "import_id"): "import",
    ("screenshots", "pk"): "screenshot",
    ("screenshots", "screenshot_id"): "screenshot",
    ("webhooks", "pk"): "webhook",
    ("webhooks", "delivery_id"): "delivery",
}
# Path parameters that are not object ids: each value is tried.
NOT_OBJECT_IDS = {"variant": ["image", "thumbnail"]}
# Routes whose parameter names no tenant's object, so there is no other company's id to try.
ALLOWED_WITHOUT_OBJECT = {
    # The token is the invitation itself: a secret mailed to the invitee, who may accept with
    # any account (SPEC). Knowing it is the permission; an unknown token is 404
    # (organizations/tests). There is no "another company's" token to guess.
    "api/v1/invitations/<str:token>/accept",
}
# The apps whose tables hold tenant data (and the auth tables beside them).
TENANT_APPS = [
    "accounts",
    "organizations",
    "changelog",
    "tracking",
    "activity",
    "screenshots",
    "reports",
    "imports",
    "sync",
    "common",
    # A refused request writes no audit row either (a 404 screenshot is not "viewed").
    "audit",
    # Webhook endpoints (their secrets) and deliveries: another company's are never sent or changed.
    "integrations",
]
# A body plausible for any write, so a 404 is never just a 400 for a missing field.
ANY_BODY = {
    "name": "Hijacked",
    "title": "Hijacked",
    "description": "Hijacked",
    "role": Role.MEMBER,
    "status": "DONE",
    "email": "intruder@example.com",
    "pattern": "x",
    "field": "app",
    "action": "drop",
    "url": "https://93.184.216.34/hijacked",
    "events": ["*"],
    "active": False,
}

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def routes() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route, callback in walk_patterns(get_resolver().url_patterns):
        if route.startswith("api/v1/") and _PARAM.search(route):
            found.extend((route, method) for method in route_methods(callback))
    return found


def _params(route: str) -> list[str]:
    return [a or b for a, b in _PARAM.findall(route)]


def _segment(route: str) -> str:
    return route.removeprefix("api/v1/").lstrip("^").split("/")[0]


def _url(route: str, values: dict) -> str:
    def sub(match):
        return str(values[match.group(1) or match.group(2)])

    path = _PARAM.sub(sub, route).replace("^", "").replace("$", "")
    return "/" + path


ROUTES = routes()


@pytest.fixture
def two_worlds(world):
    """Company B holding one of every object (company A has the same in ``world`` plus these)."""
    b, outsider = world.b, world.users["outsider"]
    b_member = MembershipFactory(company=b, role=Role.MEMBER).user
    org_services.team_member_add(team=world.team_b, user_id=b_member.id, role=TeamRole.MEMBER)
    b_owner = outsider.memberships.get(company=b)
    b.screenshots_enabled = True
    b.save(update_fields=["screenshots_enabled"])
    task = tracking_services.task_create(project=world.project_b, data={"title": "Their task"})
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    entry = tracking_services.entry_create(
        membership=b_owner,
        data={
            "project_id": world.project_b.id,
            "task_id": task.id,
            "started_at": start,
            "ended_at": start + timedelta(hours=1),
        },
    )
    # the entry's week, submitted (a Monday week: the company's default week_start)
    sheet = tracking_services.timesheet_submit(actor_membership=b_owner, user_id=outsider.id, period_start=start.date())
    rule = activity_services.privacy_rule_create(company=b, field="app", pattern="secret", action="drop")
    export = report_services.export_request(
        membership=b_owner,
        report="time_entries",
        fmt="csv",
        first=date(2026, 1, 1),
        last=date(2026, 1, 31),
        tz="UTC",
    )
    job = ImportJob.objects.create(company=b, requested_by=outsider, source="toggl_csv", timezone="UTC")
    shot = screenshot_services.screenshot_presign(
        membership=b_owner, captured_at=datetime.now(UTC), content_type="image/png", size=100
    )
    session = session_create(user=outsider, device=DeviceInfo(device_name="theirs"), stay_logged_in=False).session
    token, _ = personal_token_create(user=outsider, name="theirs", scopes=["write"], company=b)
    webhook = webhook_services.endpoint_create(company=b, url="https://93.184.216.34/theirs", events=["*"])
    delivery = WebhookDelivery.objects.create(endpoint=webhook, type="test", payload={"type": "test", "data": {}})
    return {
        "company": b.id,
        "invitation": world.invitation_b.id,
        "member": b_member.id,
        "team": world.team_b.id,
        "client": world.client_b.id,
        "project": world.project_b.id,
        "task": task.id,
        "entry": entry.id,
        "timesheet": sheet.id,
        "rule": rule.id,
        "export": export.id,
        "import": job.id,
        "screenshot": shot.id,
        "session": session.id,
        "token": token.id,
        "webhook": webhook.id,
        "delivery": delivery.id,
    }


def tenant_fingerprint() -> dict[str, str]:
    """A digest of every row of every tenant table (the caller's own device session aside: each
    authenticated request stamps its last_seen_at)."""
    digests = {}
    for app in TENANT_APPS:
        for model in apps.get_app_config(app).get_models():
            fields = [f.attname for f in model._meta.concrete_fields]
            if model._meta.label == "accounts.DeviceSession":
                fields.remove("last_seen_at")
            rows = model._default_manager.order_by("pk").values_list(*fields)
            digests[model._meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


def test_the_matrix_covers_the_routes_it_should():
    """Guards the walk: if the resolver stopped yielding routes, the matrix would pass empty."""
    names = {route for route, _ in ROUTES}
    assert len(ROUTES) >= 40
    assert any("time-entries" in r for r in names)
    assert any("screenshots" in r for r in names)
    assert names >= ALLOWED_WITHOUT_OBJECT, "an allow-listed route no longer exists: drop it"


# Allow-listed routes are left out here (not passed vacuously); the test above keeps the list true.
CHECKED = [(route, method) for route, method in ROUTES if route not in ALLOWED_WITHOUT_OBJECT]


@pytest.mark.parametrize(("route", "method"), CHECKED, ids=[f"{m.upper()} {r}" for r, m in CHECKED])
def test_another_companys_ids_are_404_and_change_nothing(world, two_worlds, route, method):
    segment, params = _segment(route), _params(route)
    missing = [p for p in params if (segment, p) not in OBJECTS and p not in NOT_OBJECT_IDS]
    assert not missing, f"{route}: no company-B object for {missing}; add one to OBJECTS (or allow-list it, saying why)"

    # Every parameter from company B; and, for nested routes, A's parent with B's child (the
    # inner lookup must be scoped too, not only the outer one).
    own_parent = {"companies": world.a.id, "teams": world.team.id}.get(segment)
    variants = [{}] + ([{params[0]: own_parent}] if own_parent and len(params) > 1 else [])
    api = api_as(world.users["owner"])
    for override in variants:
        for extra in NOT_OBJECT_IDS.get(params[-1], [None]):
            values = {p: two_worlds[OBJECTS[(segment, p)]] for p in params if (segment, p) in OBJECTS}
            values.update(override)
            if extra is not None:
                values[params[-1]] = extra
            url = _url(route, values)
            before = tenant_fingerprint()
            body = {**ANY_BODY, "user_id": str(world.users["member"].id)}
            response = getattr(api, method)(url, body if method in {"post", "put", "patch"} else None, format="json")
            assert response.status_code == 404, (
                f"{method.upper()} {url}: {response.status_code} {response.content[:300]}"
            )
            after = tenant_fingerprint()
            changed = sorted(label for label in before if before[label] != after[label])
            assert not changed, f"{method.upper()} {url} changed {changed}"
