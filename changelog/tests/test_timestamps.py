"""Timestamps in change payloads, event envelopes and sync conflicts are written in UTC with
``Z``, as the API promises. Regressions: ``task.deleted`` and a sync conflict's server version
wrote ``+00:00``. (Only public services and endpoints here, so these ran before the fix too.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from changelog import publishing
from changelog.models import Change
from common.representation import utc_iso
from tracking import services as tracking

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_deleted_tasks_payload_writes_deleted_at_with_z(world):
    task = tracking.task_create(project=world.project_open, data={"title": "Parent"})
    tracking.task_create(project=world.project_open, data={"title": "Child", "parent_id": task.id})
    tracking.task_delete(task=task)
    deleted = Change.objects.filter(entity="task", action="delete")
    assert deleted.count() == 2  # the task and its subtask
    for change in deleted:
        assert change.payload["deleted_at"].endswith("Z"), change.payload
        assert datetime.fromisoformat(change.payload["deleted_at"]).utcoffset() == timedelta(0)


def test_a_sync_conflicts_server_version_writes_its_times_with_z(world):
    member = world.users["member"]
    entry = tracking.entry_create(
        membership=member.memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": T0, "ended_at": T0 + timedelta(hours=1)},
    )
    tracking.entry_delete(entry=entry)
    stale = T0 - timedelta(days=1)
    item = {
        "idempotency_key": f"k-{uuid.uuid4()}",
        "entity": "time_entry",
        "action": "upsert",
        "data": {
            "id": str(entry.id),
            "project_id": str(world.project_open.id),
            "started_at": "2026-03-02T09:00:00Z",
            "ended_at": "2026-03-02T09:30:00Z",
        },
        "client_updated_at": utc_iso(stale),
    }
    response = world.api("member").post("/api/v1/sync/batch", {"device_id": "laptop", "items": [item]}, format="json")
    assert response.status_code == 200, response.content
    [conflict] = response.json()["conflicts"]
    assert conflict["reason"] == "deleted"
    server = conflict["server"]
    for name in ("deleted_at", "client_updated_at", "started_at", "updated_at"):
        assert server[name].endswith("Z"), (name, server[name])


def test_an_envelope_writes_at_in_utc_with_z():
    at = datetime(2026, 3, 2, 11, 0, 0, 250, tzinfo=timezone(timedelta(hours=2)))
    event = publishing.envelope(event="timer.started", cursor=1, company_id=None, data={}, at=at)
    assert event["at"] == "2026-03-02T09:00:00.000250Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "2026-03-02T09:00:00Z"),
        (datetime(2026, 3, 2, 9, 0, 0, 120, tzinfo=UTC), "2026-03-02T09:00:00.000120Z"),
        (datetime(2026, 3, 2, 4, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-03-02T09:00:00Z"),
    ],
)
def test_utc_iso_writes_drfs_shape_in_utc(moment, text):
    assert utc_iso(moment) == text


def test_utc_iso_refuses_a_naive_time():
    with pytest.raises(ValueError, match="aware"):
        utc_iso(datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001 - the point of the test
