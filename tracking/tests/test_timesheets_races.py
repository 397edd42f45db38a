"""Timesheet races against the real PostgreSQL, with real threads, connections and commits
(the house pattern of test_concurrency.py): one decision wins, and a week's totals never miss
an edit that got in."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from organizations.models import Membership
from organizations.tests.world import api_as
from tracking import services as tracking
from tracking.models import TimeEntry, Timesheet, TimesheetStatus
from tracking.weeks import week_containing

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list:
    """Run the callables at the same instant, each on its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _week(weeks_back: int):
    today = timezone.now().astimezone(UTC).date()
    return week_containing(today - timedelta(weeks=weeks_back), week_start="monday", timezone="UTC")


def _membership(world, role: str) -> Membership:
    return Membership.objects.select_related("company", "user").get(company=world.a, user=world.users[role])


def test_two_approvers_at_once_one_wins_the_other_gets_409(world):
    week = _week(1)
    member = _membership(world, "member")
    tracking.entry_create(
        membership=member,
        data={
            "project_id": world.project_open.id,
            "started_at": week.starts_at + timedelta(hours=9),
            "ended_at": week.starts_at + timedelta(hours=10),
        },
    )
    sheet = tracking.timesheet_submit(actor_membership=member, user_id=member.user_id, period_start=week.period_start)
    manager, admin = api_as(world.users["manager"]), api_as(world.users["admin"])

    responses = _race(
        [
            lambda: manager.post(f"/api/v1/timesheets/{sheet.id}/approve", {}, format="json"),
            lambda: admin.post(f"/api/v1/timesheets/{sheet.id}/reject", {"comment": "no"}, format="json"),
        ]
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.content for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["errors"][0]["code"] == "not_submitted"
    winner = next(r for r in responses if r.status_code == 200).json()
    sheet.refresh_from_db()
    assert sheet.status == winner["status"]
    assert sheet.status in (TimesheetStatus.APPROVED, TimesheetStatus.REJECTED)


@pytest.mark.parametrize("round_", range(3))
def test_a_submit_racing_an_edit_of_the_week_never_misses_an_edit_that_got_in(world, round_):
    week = _week(1 + round_)
    member = world.users["member"]
    entry = tracking.entry_create(
        membership=_membership(world, "member"),
        data={
            "project_id": world.project_open.id,
            "started_at": week.starts_at + timedelta(days=1, hours=9),
            "ended_at": week.starts_at + timedelta(days=1, hours=10),
        },
    )
    submitter, editor = api_as(member), api_as(member)
    longer = (entry.started_at + timedelta(hours=3)).isoformat()

    submit, edit = _race(
        [
            lambda: submitter.post(
                "/api/v1/timesheets/submit", {"period_start": week.period_start.isoformat()}, format="json"
            ),
            lambda: editor.patch(f"/api/v1/time-entries/{entry.id}", {"ended_at": longer}, format="json"),
        ]
    )

    assert submit.status_code == 201, submit.content
    sheet = Timesheet.objects.get(pk=submit.json()["id"])
    entry.refresh_from_db()
    if edit.status_code == 200:
        # the edit committed before the submit read the week: it is in the totals
        assert entry.duration_seconds == 3 * 3600
        assert sheet.total_seconds == 3 * 3600
    else:
        # the edit came after the lock: refused, nothing changed
        assert edit.status_code == 409, edit.content
        assert edit.json()["errors"][0]["code"] == "period_locked"
        assert entry.duration_seconds == 3600
        assert sheet.total_seconds == 3600
    assert TimeEntry.objects.filter(user=member, deleted_at__isnull=True).count() == 1
