"""POST /time-entries/pause and /resume (SPEC: Tracking; docs/tracking.md "Pause and resume"):
pause stops the running timer and remembers it; resume starts a new entry with its project,
task, description and billable flag. 409 when nothing runs or nothing is paused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from changelog.models import Change
from organizations import services as org_services
from organizations.models import Role, TeamMember
from tests.support.api import assert_error
from tests.support.locked_periods import lock_until
from tracking import services
from tracking.models import PausedTimer, TimeEntry

pytestmark = pytest.mark.django_db

START = "/api/v1/time-entries/start"
PAUSE = "/api/v1/time-entries/pause"
RESUME = "/api/v1/time-entries/resume"


def start(api, project, **body):
    response = api.post(START, {"project_id": str(project.id), **body})
    assert response.status_code == 201, response.content
    return response.json()


def events_of(entry_id) -> list[str]:
    return list(Change.objects.filter(entity_id=entry_id).order_by("id").values_list("event", flat=True))


def test_pause_then_resume_copies_project_task_description_and_billable_into_a_new_entry(world):
    api = world.api("member")
    task = services.task_create(project=world.project_team, data={"title": "Wireframes"})
    running = start(api, world.project_team, task_id=str(task.id), description="Home page")
    api.patch(f"/api/v1/time-entries/{running['id']}", {"billable": False})  # not the project's default

    paused = api.post(PAUSE, {})
    assert paused.status_code == 200, paused.content
    assert paused.json()["id"] == running["id"]
    assert paused.json()["ended_at"] is not None
    assert api.get("/api/v1/time-entries/current").status_code == 204  # a pause is a stop

    resumed = api.post(RESUME, {})
    assert resumed.status_code == 201, resumed.content
    body = resumed.json()
    assert body["id"] != running["id"]
    assert (body["project_id"], body["task_id"], body["description"], body["billable"]) == (
        str(world.project_team.id),
        str(task.id),
        "Home page",
        False,
    )
    assert body["ended_at"] is None
    started_at = TimeEntry.objects.get(pk=body["id"]).started_at
    assert abs(timezone.now() - started_at) < timedelta(seconds=30)
    assert started_at >= TimeEntry.objects.get(pk=running["id"]).ended_at
    assert api.get("/api/v1/time-entries/current").json()["id"] == body["id"]
    # the paused entry is kept as it was stopped
    assert TimeEntry.objects.get(pk=running["id"]).description == "Home page"

    # resuming twice: the first resume used the pause up
    assert_error(api.post(RESUME, {}), 409, code="not_paused")
    assert TimeEntry.objects.filter(user=world.users["member"]).count() == 2


def test_pause_with_nothing_running_and_resume_with_nothing_paused_are_409(world):
    api = world.api("member")
    assert_error(api.post(PAUSE, {}), 409, code="not_running")  # the same code as /stop
    assert_error(api.post(RESUME, {}), 409, code="not_paused")
    assert not TimeEntry.objects.exists()
    assert not PausedTimer.objects.exists()


def test_any_start_makes_the_pause_moot(world):
    api = world.api("member")
    start(api, world.project_open, description="first")
    api.post(PAUSE, {})
    other = start(api, world.project_team, description="something else")
    assert_error(api.post(RESUME, {}), 409, code="not_paused")
    assert api.get("/api/v1/time-entries/current").json()["id"] == other["id"]  # untouched by the refusal


def test_a_second_pause_replaces_the_first(world):
    api = world.api("member")
    start(api, world.project_open, description="first")
    api.post(PAUSE, {})
    # another client's start clears the pause; pausing that one remembers it instead
    start(api, world.project_team, description="second")
    api.post(PAUSE, {})
    assert api.post(RESUME, {}).json()["description"] == "second"


def test_a_pause_in_one_company_is_not_resumed_through_another(world):
    # given a member of A and B with a timer paused in A
    member = world.users["member"]
    MembershipFactory(company=world.b, user=member, role=Role.MEMBER)
    api = world.api("member")
    start(api, world.project_open, description="A's work")
    api.post(PAUSE, {})

    # then ?company=B finds nothing paused there, and starts nothing
    assert_error(api.post(f"{RESUME}?company={world.b.id}", {}), 409, code="not_paused")
    assert api.get("/api/v1/time-entries/current").status_code == 204
    # the outsider (B's owner) has nothing paused, and A is not theirs to name
    outsider = world.api("outsider")
    assert_error(outsider.post(RESUME, {}), 409, code="not_paused")
    assert_error(outsider.post(f"{RESUME}?company={world.a.id}", {}), 404)
    assert not TimeEntry.objects.filter(user=world.users["outsider"]).exists()

    # and ?company=A resumes it, in A
    resumed = api.post(f"{RESUME}?company={world.a.id}", {})
    assert resumed.status_code == 201, resumed.content
    assert resumed.json()["company_id"] == str(world.a.id)
    assert resumed.json()["description"] == "A's work"


def test_pause_and_resume_are_the_usual_timer_events(world):
    api = world.api("member")
    running = start(api, world.project_open)
    api.post(PAUSE, {})
    resumed = api.post(RESUME, {}).json()
    assert events_of(running["id"]) == ["timer.started", "timer.stopped"]
    assert events_of(resumed["id"]) == ["timer.started"]
    stopped = Change.objects.get(entity_id=running["id"], event="timer.stopped")
    assert stopped.payload["ended_at"] is not None
    assert stopped.user_id == world.users["member"].id


def test_pausing_into_a_locked_period_is_refused_as_a_stop_is(world):
    # given a timer started two hours ago, then locked_until moved over its start
    api = world.api("member")
    running = start(api, world.project_open, started_at=(timezone.now() - timedelta(hours=2)).isoformat())
    today = timezone.now().date()
    lock_until(world.a, today)
    changes = Change.objects.count()

    body = assert_error(api.post(PAUSE, {}), 409, code="period_locked")
    assert body["locked_period"] == {"locked_until": today.isoformat()}
    # nothing changed: the timer still runs, nothing is remembered, no event
    assert api.get("/api/v1/time-entries/current").json()["id"] == running["id"]
    assert not PausedTimer.objects.exists()
    assert Change.objects.count() == changes


def test_resume_when_the_paused_entry_is_gone_or_its_project_closed_is_409(world):
    api = world.api("member")
    running = start(api, world.project_open)
    api.post(PAUSE, {})
    assert api.delete(f"/api/v1/time-entries/{running['id']}").status_code == 204
    assert_error(api.post(RESUME, {}), 409, code="paused_entry_deleted")

    start(api, world.project_team)
    api.post(PAUSE, {})
    TeamMember.objects.filter(team=world.team, user=world.users["member"]).delete()  # the team's project is hidden now
    assert_error(api.post(RESUME, {}), 409, code="project_unavailable")

    owner = world.api("owner")
    start(owner, world.project_open)
    owner.post(PAUSE, {})
    org_services.project_archive(project=world.project_open)
    assert_error(owner.post(RESUME, {}), 409, code="project_archived")
    assert not TimeEntry.objects.filter(ended_at__isnull=True).exists()


def test_pause_and_resume_replay_under_an_idempotency_key(world):
    api = world.api("member")
    start(api, world.project_open, description="keyed")
    first = api.post(PAUSE, {}, HTTP_IDEMPOTENCY_KEY="pause-1")
    again = api.post(PAUSE, {}, HTTP_IDEMPOTENCY_KEY="pause-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"

    resumed = api.post(RESUME, {}, HTTP_IDEMPOTENCY_KEY="resume-1")
    replayed = api.post(RESUME, {}, HTTP_IDEMPOTENCY_KEY="resume-1")
    assert (resumed.status_code, replayed.status_code) == (201, 201)
    assert replayed.json()["id"] == resumed.json()["id"]
    assert TimeEntry.objects.count() == 2  # the replay started nothing


def test_resume_takes_no_body_fields(world):
    api = world.api("member")
    start(api, world.project_open)
    api.post(PAUSE, {})
    assert_error(api.post(RESUME, {"description": "new"}), 400, attr="description", code="unknown_field")
    assert PausedTimer.objects.filter(user=world.users["member"]).exists()  # still paused
