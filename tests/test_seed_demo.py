"""seed_demo builds SPEC.md's demo world, through the API's own eyes, and is idempotent."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from PIL import Image

from accounts.models import User
from activity import partitions
from activity.models import ActivitySample
from organizations.models import Company
from screenshots.models import Screenshot
from stack.management.commands.seed_demo import TEAMMATES
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _partitions_of_a_rolled_back_test_are_gone():
    """Each test's transaction rolls back the monthly partitions seed_demo created, but the
    process still remembers them as made: forget, so this test's seed creates them again."""
    partitions.forget_known()


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


def test_seed_demo_gives_teammates_real_processed_screenshots(api, client, settings, tmp_path):
    """Screenshots are on in Studio Co and every teammate has READY ones, made by the real upload
    and processing path: files in storage, links that open, today's on the dashboard."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo")
    count = Screenshot.objects.count()
    call_command("seed_demo")
    assert Screenshot.objects.count() == count  # idempotent

    studio = Company.objects.get(name="Studio Co")
    assert studio.screenshots_enabled
    login = api.post("/api/v1/auth/login", {"email": "alex@studio.co", "password": "password123"})
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    for email, *_ in TEAMMATES:
        user = User.objects.get(email=email)
        shots = api.get(f"/api/v1/screenshots?user={user.id}").json()["results"]
        assert len(shots) >= 7, email  # one a day of the week, and today's
        assert {s["status"] for s in shots} == {"READY"}
        assert any(s["time_entry_id"] for s in shots)
        image = client.get(shots[0]["thumbnail_url"].replace("http://testserver", ""))
        assert image.status_code == 200
        assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size[0] == 320  # a real thumbnail

    client.force_login(User.objects.get(email="alex@studio.co"))
    team = client.get("/dashboard/panels/team/")
    assert team.content.count(b'data-testid="screenshot-thumb"') >= len(TEAMMATES)
