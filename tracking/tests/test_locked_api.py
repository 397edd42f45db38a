"""Locked periods through the REST API (SPEC "Timesheets, locked periods"): creating, editing,
deleting, starting into and stopping into a SUBMITTED or APPROVED week, or time on or before
the company's ``locked_until``, is 409 ``period_locked`` naming the period, with nothing
written: the entry as it was, no change-log row, no audit row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from changelog.models import Change
from tests.support.api import assert_error
from tests.support.locked_periods import lock_until, lock_week
from tracking import services
from tracking.models import Task, TimeEntry, TimesheetStatus

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # weeks start on Monday (the default), members in UTC
T0 = MONDAY + timedelta(days=2, hours=9)  # Wednesday 09:00 of the week that gets locked
WEEK = {"period_start": "2026-03-02", "period_end": "2026-03-08"}


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def membership(world, role="member"):
    return world.users[role].memberships.get(company=world.a)


def an_entry(world, start=T0, hours=1, role="member", **data):
    return services.entry_create(
        membership=membership(world, role),
        data={"project_id": world.project_open.id, "started_at": start, "duration_seconds": hours * 3600, **data},
    )


def locked_week(world, status=TimesheetStatus.APPROVED, role="member"):
    return lock_week(company=world.a, user=world.users[role], day=MONDAY.date(), status=status)


def assert_locked(response, period: dict, *names: str) -> dict:
    """409 period_locked; the detail names the period; ``locked_period`` beside the errors."""
    body = assert_error(response, 409, code="period_locked")
    assert body["errors"][0]["code"] == "period_locked"
    assert body["locked_period"] == period
    for name in names:
        assert name in body["errors"][0]["detail"], body
    return body


@contextmanager
def nothing_written() -> Iterator[None]:
    """No change-log or audit row is added inside the block."""
    counts = Change.objects.count(), AuditEntry.objects.count()
    yield
    assert (Change.objects.count(), AuditEntry.objects.count()) == counts


# --------------------------------------------------------------------------- a locked week


@pytest.mark.parametrize("status", [TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED])
def test_a_new_entry_in_a_locked_week_is_409_naming_the_week(world, status):
    locked_week(world, status)

    with nothing_written():
        response = world.api("member").post(
            "/api/v1/time-entries",
            {"project_id": str(world.project_open.id), "started_at": iso(T0), "duration_seconds": 3600},
        )

    assert_locked(response, {**WEEK, "status": status}, "2026-03-02", "2026-03-08", status.lower())
    assert not TimeEntry.objects.exists()


def test_an_entry_that_only_crosses_into_a_locked_week_is_refused_too(world):
    locked_week(world)
    response = world.api("member").post(
        "/api/v1/time-entries",
        {
            "project_id": str(world.project_open.id),
            "started_at": iso(MONDAY - timedelta(hours=1)),
            "duration_seconds": 7200,
        },
    )
    assert_locked(response, {**WEEK, "status": "APPROVED"})
    assert not TimeEntry.objects.exists()


def test_editing_an_entry_of_a_locked_week_is_409_and_changes_nothing(world):
    entry = an_entry(world, description="as signed off")
    locked_week(world)
    api = world.api("member")

    with nothing_written():
        for body in [
            {"description": "changed"},
            {"started_at": iso(T0 + timedelta(days=7)), "ended_at": iso(T0 + timedelta(days=7, hours=1))},  # out
            {"project_id": str(world.project_team.id)},
            {"billable": False},
        ]:
            assert_locked(api.patch(f"/api/v1/time-entries/{entry.pk}", body), {**WEEK, "status": "APPROVED"})

    entry.refresh_from_db()
    assert (entry.description, entry.started_at, entry.project_id, entry.billable) == (
        "as signed off",
        T0,
        world.project_open.id,
        True,
    )


def test_moving_an_entry_into_a_locked_week_is_refused(world):
    entry = an_entry(world, start=T0 + timedelta(days=7))  # the next week: open
    locked_week(world)
    with nothing_written():
        response = world.api("member").patch(
            f"/api/v1/time-entries/{entry.pk}", {"started_at": iso(T0), "ended_at": iso(T0 + timedelta(hours=1))}
        )
    assert_locked(response, {**WEEK, "status": "APPROVED"})
    entry.refresh_from_db()
    assert entry.started_at == T0 + timedelta(days=7)


def test_deleting_an_entry_of_a_locked_week_is_409_and_it_stays(world):
    entry = an_entry(world)
    locked_week(world, TimesheetStatus.SUBMITTED)

    with nothing_written():
        response = world.api("member").delete(f"/api/v1/time-entries/{entry.pk}")
    assert_locked(response, {**WEEK, "status": "SUBMITTED"})

    entry.refresh_from_db()
    assert entry.deleted_at is None
    assert world.api("member").get(f"/api/v1/time-entries/{entry.pk}").status_code == 200


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_is_held_by_the_lock_like_the_member(world, role):
    entry = an_entry(world)
    locked_week(world)
    api = world.api(role)
    with nothing_written():  # no audit row either: nothing changed
        assert_locked(
            api.patch(f"/api/v1/time-entries/{entry.pk}", {"description": "fixed"}), {**WEEK, "status": "APPROVED"}
        )
        assert_locked(api.delete(f"/api/v1/time-entries/{entry.pk}"), {**WEEK, "status": "APPROVED"})
    entry.refresh_from_db()
    assert (entry.description, entry.deleted_at) == ("", None)


def test_open_and_rejected_weeks_and_other_peoples_locks_do_not_hold(world):
    locked_week(world, TimesheetStatus.REJECTED)
    lock_week(company=world.a, user=world.users["lead"], day=MONDAY.date())  # the lead's week, not the member's
    api = world.api("member")
    created = api.post(
        "/api/v1/time-entries",
        {"project_id": str(world.project_open.id), "started_at": iso(T0), "duration_seconds": 3600},
    )
    assert created.status_code == 201, created.content
    assert api.patch(f"/api/v1/time-entries/{created.json()['id']}", {"description": "ok"}).status_code == 200
    assert api.delete(f"/api/v1/time-entries/{created.json()['id']}").status_code == 204


# --------------------------------------------------------------------------- locked_until


def test_entries_on_or_before_locked_until_cannot_be_created_edited_or_deleted(world):
    entry = an_entry(world)  # Wednesday 2026-03-04
    lock_until(world.a, date(2026, 3, 4))
    api = world.api("member")
    period = {"locked_until": "2026-03-04"}

    with nothing_written():
        assert_locked(
            api.post(
                "/api/v1/time-entries",
                {
                    "project_id": str(world.project_open.id),
                    "started_at": iso(T0 - timedelta(days=30)),
                    "duration_seconds": 60,
                },
            ),
            period,
            "2026-03-04",
        )
        assert_locked(api.patch(f"/api/v1/time-entries/{entry.pk}", {"description": "x"}), period, "2026-03-04")
        assert_locked(api.delete(f"/api/v1/time-entries/{entry.pk}"), period)
    entry.refresh_from_db()
    assert (entry.description, entry.deleted_at) == ("", None)
    assert TimeEntry.objects.count() == 1


def test_the_day_after_locked_until_is_open(world):
    lock_until(world.a, date(2026, 3, 4))
    response = world.api("member").post(
        "/api/v1/time-entries",
        {
            "project_id": str(world.project_open.id),
            "started_at": iso(MONDAY + timedelta(days=3)),
            "duration_seconds": 60,
        },
    )
    assert response.status_code == 201, response.content


# --------------------------------------------------------------------------- timers


def test_starting_a_timer_into_a_locked_period_is_409_and_nothing_runs(world):
    today = timezone.now().date()
    lock_until(world.a, today)
    api = world.api("member")

    with nothing_written():
        response = api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)})

    assert_locked(response, {"locked_until": today.isoformat()}, today.isoformat())
    assert api.get("/api/v1/time-entries/current").status_code == 204
    assert not TimeEntry.objects.exists()


def test_starting_a_timer_into_a_submitted_week_is_409(world):
    now = timezone.now()
    sheet = lock_week(company=world.a, user=world.users["member"], day=now.date(), status=TimesheetStatus.SUBMITTED)
    api = world.api("member")
    with nothing_written():
        response = api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)})
    period = {"period_start": sheet.period_start.isoformat(), "period_end": sheet.period_end.isoformat()}
    assert_locked(response, {**period, "status": "SUBMITTED"}, sheet.period_start.isoformat())
    assert api.get("/api/v1/time-entries/current").status_code == 204


def test_a_timer_whose_start_got_locked_cannot_be_stopped_or_replaced_until_unlocked(world):
    # given a running timer, then locked_until moved over its start behind the services' back
    # (they refuse to lock time a timer runs in: this is the state they prevent)
    api = world.api("member")
    begun = timezone.now() - timedelta(hours=2)  # yesterday when the test runs before 02:00 UTC
    started = api.post(
        "/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": iso(begun)}
    )
    assert started.status_code == 201, started.content
    today = timezone.now().date()
    lock_until(world.a, today)
    changes = Change.objects.count()

    # then stopping is 409 period_locked, and so is starting another timer (it would stop this one)
    assert_locked(api.post("/api/v1/time-entries/stop", {}), {"locked_until": today.isoformat()})
    assert_locked(
        api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}),
        {"locked_until": today.isoformat()},
    )
    # the timer still runs, exactly as before; the user sees it running
    current = api.get("/api/v1/time-entries/current")
    assert current.status_code == 200
    assert current.json()["id"] == started.json()["id"]
    assert current.json()["ended_at"] is None
    assert Change.objects.count() == changes

    # once an OWNER/ADMIN moves locked_until back, it stops normally
    lock_until(world.a, begun.date() - timedelta(days=1))
    stopped = api.post("/api/v1/time-entries/stop", {})
    assert stopped.status_code == 200, stopped.content
    assert stopped.json()["ended_at"] is not None


def test_stopping_a_timer_with_an_end_inside_a_locked_week_is_409(world):
    # a timer started the Sunday before a locked week, stopped (explicit end) inside it
    services.timer_start(
        membership=membership(world), project_id=world.project_open.id, started_at=MONDAY - timedelta(hours=2)
    )
    locked_week(world)
    response = world.api("member").post("/api/v1/time-entries/stop", {"ended_at": iso(MONDAY + timedelta(hours=1))})
    assert_locked(response, {**WEEK, "status": "APPROVED"})
    assert TimeEntry.objects.get().ended_at is None
    # stopping before the week begins is fine
    stopped = world.api("member").post("/api/v1/time-entries/stop", {"ended_at": iso(MONDAY)})
    assert stopped.status_code == 200, stopped.content


# --------------------------------------------------------------------------- tasks


def test_deleting_a_task_with_time_in_a_locked_week_is_409_naming_it(world):
    task = services.task_create(project=world.project_open, data={"title": "Signed off"})
    child = services.task_create(project=world.project_open, data={"title": "Sub", "parent_id": task.pk})
    entry = an_entry(world, task_id=child.pk)  # on the subtask: the subtree goes with the task
    locked_week(world)

    with nothing_written():  # not even the task.deleted changes
        response = world.api("owner").delete(f"/api/v1/tasks/{task.pk}")

    body = assert_locked(response, {**WEEK, "status": "APPROVED"}, "2026-03-02")
    assert "task" in body["errors"][0]["detail"]
    assert Task.objects.filter(pk__in=[task.pk, child.pk]).count() == 2
    entry.refresh_from_db()
    assert entry.task_id == child.pk


def test_a_task_whose_time_is_all_open_is_deleted_and_its_entries_keep_their_time(world):
    task = services.task_create(project=world.project_open, data={"title": "Open"})
    entry = an_entry(world, start=T0 + timedelta(days=7), task_id=task.pk)
    locked_week(world)  # the week before: not this entry's
    assert world.api("owner").delete(f"/api/v1/tasks/{task.pk}").status_code == 204
    entry.refresh_from_db()
    assert (entry.task_id, entry.duration_seconds) == (None, 3600)
