"""Locked periods in the sync batch (SPEC: conflict reason ``locked``): an item that would
create, change or delete an entry of a SUBMITTED or APPROVED week, or on or before
``locked_until``, is a per-item conflict carrying the server's version and the period; the
batch's other items still apply, the bulk path included (it falls back to one by one)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from changelog.models import Change
from sync.models import SyncItemKey
from tests.support.locked_periods import lock_until, lock_week
from tracking import services as tracking
from tracking.models import Task, TimeEntry, TimesheetStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
T0 = MONDAY + timedelta(days=2, hours=9)  # Wednesday of the locked week
OPEN = MONDAY + timedelta(days=9, hours=9)  # Wednesday of the next week: open
WEEK = {"period_start": "2026-03-02", "period_end": "2026-03-08", "status": "APPROVED"}


def later() -> datetime:
    """A client clock newer than the server's for entries made just now (last writer wins)."""
    return timezone.now() + timedelta(minutes=1)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def entry_item(world, *, eid=None, start=T0, minutes=60, clock=T0, action="upsert", **data):
    body: dict = {"id": eid or str(uuid.uuid4())}
    if action == "upsert":
        body.update(
            project_id=str(world.project_open.id),
            started_at=iso(start),
            ended_at=iso(start + timedelta(minutes=minutes)),
            **data,
        )
    return {
        "idempotency_key": f"k-{uuid.uuid4()}",
        "entity": "time_entry",
        "action": action,
        "data": body,
        "client_updated_at": iso(clock),
    }


def push(api, items):
    response = api.post("/api/v1/sync/batch", {"device_id": "laptop", "items": items})
    assert response.status_code == 200, response.content
    return response.json()


def locked_week(world, status=TimesheetStatus.APPROVED):
    return lock_week(company=world.a, user=world.users["member"], day=MONDAY.date(), status=status)


def an_entry(world, start=T0, **data):
    return tracking.entry_create(
        membership=world.users["member"].memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": start, "duration_seconds": 3600, **data},
    )


def the_conflict(body, item) -> dict:
    found = [c for c in body["conflicts"] if c["idempotency_key"] == item["idempotency_key"]]
    assert len(found) == 1, body
    return found[0]


def test_a_new_entry_in_a_locked_week_is_a_locked_conflict_and_the_rest_applies(world):
    locked_week(world)
    locked, fine = entry_item(world), entry_item(world, start=OPEN)

    body = push(world.api("member"), [locked, fine])

    assert body["processed"] == 1
    conflict = the_conflict(body, locked)
    assert conflict["reason"] == "locked"
    assert conflict["server"] is None  # the server holds no version of a new entry
    assert "2026-03-02" in conflict["detail"]
    assert "2026-03-08" in conflict["detail"]
    assert conflict["locked_period"] == WEEK
    assert list(TimeEntry.objects.values_list("pk", flat=True)) == [uuid.UUID(fine["data"]["id"])]
    # a refused item's key is not remembered: the client may send it again once unlocked
    assert not SyncItemKey.objects.filter(key=locked["idempotency_key"]).exists()


def test_an_upsert_of_an_entry_in_a_locked_week_carries_the_server_version(world):
    entry = an_entry(world, description="signed off")
    locked_week(world, TimesheetStatus.SUBMITTED)
    changes = Change.objects.count()

    edit = entry_item(world, eid=str(entry.pk), clock=later(), description="changed offline")
    body = push(world.api("member"), [edit])

    conflict = the_conflict(body, edit)
    assert conflict["reason"] == "locked"
    assert conflict["server"]["id"] == str(entry.pk)
    assert conflict["server"]["description"] == "signed off"
    assert conflict["locked_period"] == {**WEEK, "status": "SUBMITTED"}
    assert body["processed"] == 0
    entry.refresh_from_db()
    assert entry.description == "signed off"
    assert Change.objects.count() == changes


def test_moving_an_entry_out_of_a_locked_week_is_locked_too(world):
    entry = an_entry(world)
    locked_week(world)
    move = entry_item(world, eid=str(entry.pk), start=OPEN, clock=later())
    conflict = the_conflict(push(world.api("member"), [move]), move)
    assert conflict["reason"] == "locked"
    entry.refresh_from_db()
    assert entry.started_at == T0


def test_a_delete_in_a_locked_period_is_locked_and_the_entry_stays(world):
    entry = an_entry(world)
    other = an_entry(world, start=OPEN)
    lock_until(world.a, date(2026, 3, 4))
    delete = entry_item(world, eid=str(entry.pk), action="delete", clock=later())
    delete_open = entry_item(world, eid=str(other.pk), action="delete", clock=later())

    body = push(world.api("member"), [delete, delete_open])

    conflict = the_conflict(body, delete)
    assert conflict["reason"] == "locked"
    assert conflict["locked_period"] == {"locked_until": "2026-03-04"}
    assert "2026-03-04" in conflict["detail"]
    assert conflict["server"]["deleted_at"] is None
    assert body["processed"] == 1
    entry.refresh_from_db()
    other.refresh_from_db()
    assert entry.deleted_at is None
    assert other.deleted_at is not None


def test_a_running_timer_item_started_into_a_locked_period_is_locked(world):
    lock_until(world.a, date(2026, 3, 4))
    item = entry_item(world)
    del item["data"]["ended_at"]  # a running entry
    conflict = the_conflict(push(world.api("member"), [item]), item)
    assert conflict["reason"] == "locked"
    assert not TimeEntry.objects.exists()


def test_a_task_delete_that_would_edit_locked_entries_is_locked(world):
    task = tracking.task_create(project=world.project_open, data={"title": "Signed off"})
    entry = an_entry(world, task_id=task.pk)
    locked_week(world)
    item = {
        "idempotency_key": "del-task",
        "entity": "task",
        "action": "delete",
        "data": {"id": str(task.pk)},
        "client_updated_at": iso(later()),
    }
    conflict = the_conflict(push(world.api("owner"), [item]), item)
    assert conflict["reason"] == "locked"
    assert conflict["server"]["id"] == str(task.pk)  # the task's version
    assert conflict["locked_period"] == WEEK
    assert Task.objects.filter(pk=task.pk).exists()
    entry.refresh_from_db()
    assert entry.task_id == task.pk


def test_a_thousand_item_batch_with_one_locked_item_applies_the_other_999(world):
    # The common case goes through one COPY; the trigger refuses the whole statement, the
    # batch falls back to item by item, and only the locked one is a conflict.
    lock_until(world.a, date(2026, 3, 4))
    start = MONDAY + timedelta(days=3)  # Thursday: after locked_until
    items = [entry_item(world, start=start + timedelta(minutes=10 * n), minutes=5) for n in range(999)]
    locked = entry_item(world, start=T0)  # Wednesday: locked
    items.insert(500, locked)

    body = push(world.api("member"), items)

    assert body["processed"] == 999
    assert [(c["idempotency_key"], c["reason"]) for c in body["conflicts"]] == [(locked["idempotency_key"], "locked")]
    assert TimeEntry.objects.count() == 999
    assert not TimeEntry.objects.filter(pk=locked["data"]["id"]).exists()
    assert Change.objects.filter(entity="time_entry").count() == 999


def test_a_thousand_item_batch_without_locks_still_goes_through_at_once(world):
    locked_week(world)  # a week the batch does not touch
    items = [entry_item(world, start=OPEN + timedelta(minutes=10 * n), minutes=5) for n in range(1000)]
    body = push(world.api("member"), items)
    assert (body["processed"], body["conflicts"]) == (1000, [])


def test_sync_only_touches_ones_own_entries_so_it_writes_no_audit_row(world):
    # An OWNER's batch cannot reach a member's entry (not_found); their own edits are not
    # "someone else's data": the audit log stays empty either way.
    theirs = an_entry(world, start=OPEN)
    steal = entry_item(world, eid=str(theirs.pk), start=OPEN, clock=OPEN + timedelta(days=1), description="owner's")
    own = entry_item(world, start=OPEN)
    api = world.api("owner")
    body = push(api, [steal, own])
    assert the_conflict(body, steal)["reason"] == "not_found"
    edit = entry_item(world, eid=own["data"]["id"], start=OPEN, clock=OPEN + timedelta(days=1), description="mine")
    delete = entry_item(world, eid=own["data"]["id"], action="delete", clock=OPEN + timedelta(days=2))
    assert push(api, [edit])["processed"] == 1
    assert push(api, [delete])["processed"] == 1
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()
