"""Locked periods in the admin: changing or deleting an entry of a locked period, one at a time
or with the bulk action, and deleting a task with time there, show the refusal as an error
message with nothing changed, never a 500 (deleting a whole company or user:
test_locked_cascades.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from audit.models import AuditEntry
from tests.support.admin import form_data, page
from tests.support.locked_periods import lock_until, lock_week
from tracking import services
from tracking.models import Task, TimeEntry

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
T0 = MONDAY + timedelta(days=2, hours=9)
WEEK_NAMED = "The week of 2026-03-02 to 2026-03-08 is approved"


def an_entry(world, start=T0, **data):
    return services.entry_create(
        membership=world.users["member"].memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": start, "duration_seconds": 3600, **data},
    )


def locked_week(world):
    return lock_week(company=world.a, user=world.users["member"], day=MONDAY.date())


def entry_form(client, entry: TimeEntry) -> tuple[str, dict]:
    """The entry's change form as a browser posts it back (split date and time widgets)."""
    change = reverse("admin:tracking_timeentry_change", args=[entry.pk])
    data = form_data(client.get(change))
    for field in ("started_at", "ended_at"):
        value = getattr(entry, field)
        del data[field]
        data.update({f"{field}_0": f"{value:%Y-%m-%d}", f"{field}_1": f"{value:%H:%M:%S}"})
    return change, data


@pytest.fixture
def owner_client(client, world):
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    return client


def test_changing_an_entry_of_a_locked_week_shows_the_error_and_saves_nothing(owner_client, world):
    entry = an_entry(world, description="as signed off")
    locked_week(world)
    change, data = entry_form(owner_client, entry)
    data["description"] = "corrected"

    response = owner_client.post(change, data, follow=True)

    assert response.status_code == 200
    assert WEEK_NAMED in page(response)
    entry.refresh_from_db()
    assert entry.description == "as signed off"
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()
    assert not LogEntry.objects.exists()


def test_changing_an_entry_on_or_before_locked_until_shows_the_date(owner_client, world):
    entry = an_entry(world)
    lock_until(world.a, date(2026, 3, 4))
    change, data = entry_form(owner_client, entry)
    del data["billable"]  # unticked

    response = owner_client.post(change, data, follow=True)

    assert "Time up to and including 2026-03-04 is locked" in page(response)
    entry.refresh_from_db()
    assert entry.billable is True


def test_deleting_an_entry_of_a_locked_week_shows_the_error_and_it_stays(owner_client, world):
    entry = an_entry(world)
    locked_week(world)

    response = owner_client.post(
        reverse("admin:tracking_timeentry_delete", args=[entry.pk]), {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert WEEK_NAMED in page(response)
    entry.refresh_from_db()
    assert entry.deleted_at is None
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()  # rolled back with the delete
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()


def test_the_bulk_delete_is_all_or_nothing_with_the_error_shown(owner_client, world):
    locked = an_entry(world)
    open_ = an_entry(world, start=T0 + timedelta(days=7))
    locked_week(world)

    response = owner_client.post(
        reverse("admin:tracking_timeentry_changelist"),
        {"action": "delete_selected", "index": "0", "_selected_action": [str(locked.pk), str(open_.pk)], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    html = page(response)
    assert WEEK_NAMED in html
    assert "Successfully deleted" not in html
    assert TimeEntry.objects.filter(pk__in=[locked.pk, open_.pk], deleted_at__isnull=True).count() == 2
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()


def test_the_bulk_delete_of_open_entries_still_works_and_is_audited(owner_client, world):
    entries = [an_entry(world, start=T0 + timedelta(days=7, hours=n)) for n in range(2)]
    locked_week(world)
    response = owner_client.post(
        reverse("admin:tracking_timeentry_changelist"),
        {"action": "delete_selected", "index": "0", "_selected_action": [str(e.pk) for e in entries], "post": "yes"},
        follow=True,
    )
    assert "Successfully deleted 2" in page(response)
    assert not TimeEntry.objects.filter(deleted_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="time_entry.deleted").count() == 2


def test_entries_cannot_be_added_in_the_admin_at_all(owner_client, world):
    # New time is tracked by the apps (REST, sync), not typed in the admin: no add form to refuse.
    assert owner_client.get(reverse("admin:tracking_timeentry_add")).status_code == 403


def test_deleting_a_task_with_time_in_a_locked_week_shows_the_error(owner_client, world):
    task = services.task_create(project=world.project_open, data={"title": "Signed off"})
    entry = an_entry(world, task_id=task.pk)
    locked_week(world)

    one = owner_client.post(reverse("admin:tracking_task_delete", args=[task.pk]), {"post": "yes"}, follow=True)
    bulk = owner_client.post(
        reverse("admin:tracking_task_changelist"),
        {"action": "delete_selected", "index": "0", "_selected_action": [str(task.pk)], "post": "yes"},
        follow=True,
    )

    for response in (one, bulk):
        assert response.status_code == 200
        assert "Time tracked on this task is in a locked period" in page(response)
    assert Task.objects.filter(pk=task.pk).exists()
    entry.refresh_from_db()
    assert entry.task_id == task.pk
