"""seed_demo builds SPEC.md's demo world, through the API's own eyes, and is idempotent."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from accounts.models import User
from tracking.models import ActivitySample, TimeEntry

pytestmark = pytest.mark.django_db


def test_seed_demo_matches_the_spec_and_runs_twice(api):
    call_command("seed_demo")
    counts = (User.objects.count(), TimeEntry.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), TimeEntry.objects.count()) == counts

    login = api.post("/api/v1/auth/login", {"email": "alex@studio.co", "password": "password123"})
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")

    companies = api.get("/api/v1/companies").json()["results"]
    assert [(c["name"], c["my_role"]) for c in companies] == [("Studio Co", "OWNER")]
    active = sorted(p["name"] for p in api.get("/api/v1/projects").json()["results"])
    archived = api.get("/api/v1/projects?archived=true").json()["results"]
    assert active == ["Finch", "Merryfield", "Orbit"]
    assert len(archived) == 3

    orbit = next(p for p in api.get("/api/v1/projects").json()["results"] if p["name"] == "Orbit")
    tree = api.get(f"/api/v1/projects/{orbit['id']}/tasks").json()
    node, depth = next(n for n in tree if n["title"] == "Onboarding flow"), 1
    while any(c["status"] == "IN_PROGRESS" for c in node["children"]):
        node = next(c for c in node["children"] if c["status"] == "IN_PROGRESS")
        depth += 1
    assert depth == 4
    current = api.get("/api/v1/time-entries/current").json()
    assert current["task_id"] == node["id"]
    assert current["ended_at"] is None

    # teammates have a week of entries, visible to the owner
    entries = api.get("/api/v1/time-entries?limit=200").json()["results"]
    people = {e["user_id"] for e in entries}
    assert len(people) == 4
    days = {e["started_at"][:10] for e in entries if e["ended_at"]}
    assert len(days) >= 7

    # their trackers' app usage and activity came with it: the apps report shows a teammate's day
    sam = User.objects.get(email="sam@studio.co")
    berlin = ZoneInfo(sam.timezone)
    day = TimeEntry.objects.filter(user=sam).order_by("started_at").first().started_at.astimezone(berlin).date()
    apps = api.get(f"/api/v1/reports/apps?date={day}&user={sam.id}").json()
    assert apps["timezone"] == "Europe/Berlin"
    assert {a["app"] for a in apps["apps"]} <= {"Code", "Figma", "Firefox", "Slack", "Terminal"}
    assert apps["apps"], apps
    tracked = sum(
        e.duration_seconds for e in TimeEntry.objects.filter(user=sam) if e.started_at.astimezone(berlin).date() == day
    )
    assert 0 < sum(a["seconds"] for a in apps["apps"]) <= tracked + 60
    assert ActivitySample.objects.filter(user=sam).count() > 100
