"""``locked_until`` and ``week_start`` on PATCH /companies/{id} (SPEC "Timesheets, locked
periods and the audit log"): who may set them, how far ahead, running timers, what a lock does
to entries, and the ``company.updated`` audit rows of every settings change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from organizations.models import Company, Membership
from tracking import services as tracking

pytestmark = pytest.mark.django_db


def _patch(world, role: str, body: dict, company=None):
    company = company or world.a
    return world.api(role).patch(f"/api/v1/companies/{company.id}", body, format="json")


def _today(company: Company):
    return timezone.now().astimezone(ZoneInfo(company.timezone)).date()


def _entry_body(world, start: datetime) -> dict:
    return {
        "project_id": str(world.project_open.id),
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=1)).isoformat(),
    }


def test_an_owner_locks_a_period_and_its_entries_stop_changing(world):
    member = world.api("member")
    day = _today(world.a) - timedelta(days=10)
    inside = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    created = member.post("/api/v1/time-entries", _entry_body(world, inside), format="json")
    assert created.status_code == 201, created.content

    response = _patch(world, "owner", {"locked_until": day.isoformat()})

    assert response.status_code == 200, response.content
    assert response.json()["locked_until"] == day.isoformat()
    assert response.json()["my_role"] == "OWNER"
    # the entry on the locked day, and a new one there, are refused; the day after is free
    edit = member.patch(f"/api/v1/time-entries/{created.json()['id']}", {"description": "x"}, format="json")
    assert edit.status_code == 409
    assert edit.json()["errors"][0]["code"] == "period_locked"
    assert edit.json()["locked_period"] == {"locked_until": day.isoformat()}
    later = member.post("/api/v1/time-entries", _entry_body(world, inside - timedelta(days=2)), format="json")
    assert later.status_code == 409
    free = member.post("/api/v1/time-entries", _entry_body(world, inside + timedelta(days=1)), format="json")
    assert free.status_code == 201, free.content

    audit = AuditEntry.objects.get(action="company.updated")
    assert (audit.target_type, audit.target_id, audit.company_id, audit.actor_id) == (
        "company",
        str(world.a.id),
        world.a.id,
        world.users["owner"].id,
    )
    assert audit.changes == {"locked_until": [None, day.isoformat()]}

    # null unlocks
    response = _patch(world, "admin", {"locked_until": None})
    assert response.status_code == 200, response.content
    assert response.json()["locked_until"] is None
    edit = member.patch(f"/api/v1/time-entries/{created.json()['id']}", {"description": "x"}, format="json")
    assert edit.status_code == 200, edit.content


def test_the_lock_ends_with_the_day_in_the_companys_time_zone(world):
    Company.objects.filter(pk=world.a.pk).update(timezone="America/New_York")
    world.a.refresh_from_db()
    day = _today(world.a) - timedelta(days=5)
    # 23:30 in New York on the locked day is the next day in UTC: still locked
    late = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("America/New_York")) + timedelta(hours=23.5)
    assert _patch(world, "owner", {"locked_until": day.isoformat()}).status_code == 200
    response = world.api("member").post(
        f"/api/v1/time-entries?company={world.a.id}", _entry_body(world, late), format="json"
    )
    assert response.status_code == 409
    after = late + timedelta(hours=1)  # 00:30 the next local day
    response = world.api("member").post("/api/v1/time-entries", _entry_body(world, after), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("role", ["manager", "lead", "member"])
def test_only_owners_and_admins_lock_periods(world, role):
    response = _patch(world, role, {"locked_until": (_today(world.a) - timedelta(days=1)).isoformat()})
    assert response.status_code == 403
    assert Company.objects.get(pk=world.a.pk).locked_until is None
    assert not AuditEntry.objects.filter(action="company.updated").exists()


def test_another_companys_lock_is_404(world):
    response = _patch(world, "owner", {"locked_until": "2026-01-01"}, company=world.b)
    assert response.status_code == 404
    assert Company.objects.get(pk=world.b.pk).locked_until is None


def test_at_most_a_year_ahead(world):
    today = _today(world.a)
    response = _patch(world, "owner", {"locked_until": (today + timedelta(days=366)).isoformat()})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "locked_until"
    assert Company.objects.get(pk=world.a.pk).locked_until is None
    assert _patch(world, "owner", {"locked_until": "not a date"}).status_code == 400


def test_a_running_timer_in_the_period_refuses_the_lock(world):
    membership = Membership.objects.select_related("company", "user").get(company=world.a, user=world.users["member"])
    running = tracking.timer_start(membership=membership, project_id=world.project_open.id)
    today = _today(world.a)

    response = _patch(world, "owner", {"locked_until": today.isoformat()})

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "timer_running"
    assert response.json()["running_entry_ids"] == [str(running.id)]
    assert Company.objects.get(pk=world.a.pk).locked_until is None
    # a bound before the timer started is fine: the timer can still stop
    response = _patch(world, "owner", {"locked_until": (today - timedelta(days=2)).isoformat()})
    assert response.status_code == 200, response.content
    # once stopped, the lock can cover it
    tracking.timer_stop(user=world.users["member"])
    assert _patch(world, "owner", {"locked_until": today.isoformat()}).status_code == 200


def test_week_start_is_a_setting_and_every_change_is_audited(world):
    response = _patch(
        world, "admin", {"week_start": "sunday", "name": "Company A, renamed", "idle_timeout_seconds": 300}
    )

    assert response.status_code == 200, response.content
    assert response.json()["week_start"] == "sunday"
    audit = AuditEntry.objects.get(action="company.updated")
    # idle_timeout_seconds was already 300: only what changed
    assert audit.changes == {"week_start": ["monday", "sunday"], "name": ["Company A", "Company A, renamed"]}
    assert audit.actor_id == world.users["admin"].id
    assert _patch(world, "admin", {"week_start": "someday"}).status_code == 400
    # a PATCH that changes nothing leaves no row
    assert _patch(world, "admin", {"week_start": "sunday"}).status_code == 200
    assert AuditEntry.objects.filter(action="company.updated").count() == 1
