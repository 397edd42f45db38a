"""The database holds locked periods for every write path (SPEC "Timesheets, locked periods"):
raw SQL that no service checked is refused as surely as the API is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from tracking.models import TimeEntry, Timesheet, TimesheetStatus
from tracking.services.rules import period_locked

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday, UTC member


def _entry(world, start: datetime, hours: int = 1, **extra) -> TimeEntry:
    member = world.users["member"]
    return TimeEntry.objects.create(
        company=world.a, user=member, project=world.project_open, started_at=start,
        ended_at=start + timedelta(hours=hours), duration_seconds=hours * 3600, **extra,
    )  # fmt: skip


def _lock_week(world, status=TimesheetStatus.APPROVED) -> Timesheet:
    return Timesheet.objects.create(
        company=world.a, user=world.users["member"], period_start=MONDAY.date(),
        period_end=MONDAY.date() + timedelta(days=6), timezone="UTC", starts_at=MONDAY,
        ends_at=MONDAY + timedelta(days=7), status=status,
    )  # fmt: skip


def _refused(sql: str, params: list) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return caught.value


@pytest.mark.parametrize("status", [TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED])
def test_a_raw_update_inside_a_locked_week_fails(world, status):
    entry = _entry(world, MONDAY + timedelta(days=2, hours=9))
    _lock_week(world, status)

    error = _refused("UPDATE tracking_timeentry SET description = 'changed' WHERE id = %s", [entry.id])

    locked = period_locked(error)
    assert locked is not None
    assert locked.code == "period_locked"
    assert locked.extra["locked_period"] == {"period_start": "2026-11-02", "period_end": "2026-11-08", "status": status}
    assert "2026-11-02" in locked.message
    entry.refresh_from_db()
    assert entry.description == ""


def test_rows_cannot_be_moved_into_inserted_into_or_deleted_from_a_locked_week(world):
    outside = _entry(world, MONDAY + timedelta(days=8, hours=9))  # the next week: open
    inside = _entry(world, MONDAY + timedelta(days=1, hours=9))
    _lock_week(world)

    # moved in from an open week
    _refused("UPDATE tracking_timeentry SET started_at = %s, ended_at = %s WHERE id = %s",
             [MONDAY + timedelta(hours=9), MONDAY + timedelta(hours=10), outside.id])  # fmt: skip
    # deleted, softly or for good
    _refused("UPDATE tracking_timeentry SET deleted_at = now() WHERE id = %s", [inside.id])
    _refused("DELETE FROM tracking_timeentry WHERE id = %s", [inside.id])
    # inserted (a timer started into it, too: a running row is checked at its start)
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(world, MONDAY + timedelta(days=3, hours=9))
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntry.objects.create(
            company=world.a, user=world.users["member"], project=world.project_open,
            started_at=MONDAY + timedelta(days=6, hours=23),
        )  # fmt: skip
    # an entry that only crosses into the week is in it too
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(world, MONDAY - timedelta(hours=1), hours=2)

    assert TimeEntry.objects.filter(user=world.users["member"], deleted_at__isnull=True).count() == 2
    outside.refresh_from_db()
    assert outside.started_at == MONDAY + timedelta(days=8, hours=9)


def test_open_and_rejected_weeks_and_other_people_are_not_locked(world):
    _lock_week(world, TimesheetStatus.REJECTED)
    entry = _entry(world, MONDAY + timedelta(hours=9))
    TimeEntry.objects.filter(pk=entry.pk).update(description="fine")

    Timesheet.objects.filter(user=world.users["member"]).update(status=TimesheetStatus.APPROVED)
    # someone else's week of the same dates is theirs: the member's lock does not reach it
    other = TimeEntry.objects.create(
        company=world.a, user=world.users["lead"], project=world.project_open,
        started_at=MONDAY + timedelta(hours=9), ended_at=MONDAY + timedelta(hours=10), duration_seconds=3600,
    )  # fmt: skip
    TimeEntry.objects.filter(pk=other.pk).update(description="still fine")
    assert TimeEntry.objects.get(pk=other.pk).description == "still fine"


def test_locked_until_locks_the_company_time_up_to_the_end_of_that_local_day(world):
    world.a.timezone = "Europe/Berlin"  # UTC+1 in November
    world.a.save(update_fields=["timezone"])
    before = _entry(world, datetime(2026, 11, 10, 22, 0, tzinfo=UTC))  # 23:00 on the 10th in Berlin
    after = _entry(world, datetime(2026, 11, 10, 23, 0, tzinfo=UTC))  # 00:00 on the 11th in Berlin
    world.a.locked_until = date(2026, 11, 10)
    world.a.save(update_fields=["locked_until"])

    error = _refused("UPDATE tracking_timeentry SET billable = false WHERE id = %s", [before.id])
    assert period_locked(error).extra["locked_period"] == {"locked_until": "2026-11-10"}
    TimeEntry.objects.filter(pk=after.pk).update(billable=False)
    assert not TimeEntry.objects.get(pk=after.pk).billable


def test_a_tombstone_in_a_locked_week_can_be_purged_and_the_guard_lifted_explicitly(world):
    gone = _entry(world, MONDAY + timedelta(hours=9), deleted_at=MONDAY + timedelta(days=1))
    kept = _entry(world, MONDAY + timedelta(hours=11))
    _lock_week(world)

    TimeEntry.objects.filter(pk=gone.pk).delete()  # a tombstone is out of the invariants
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.period_locks = 'off'")  # deleting a whole company or user
        cursor.execute("DELETE FROM tracking_timeentry WHERE id = %s", [kept.id])
    assert not TimeEntry.objects.filter(pk__in=[gone.pk, kept.pk]).exists()
