"""Ids a client may supply when it creates things offline are UUID strings: JSON's true or 123
is refused naming the field (DRF's UUIDField read 123 as UUID(int=123), and true, a Python
int, as ...0001), not stored under an id the client never chose."""

from __future__ import annotations

import uuid

import pytest

from organizations.models import Project
from tests.support.api import assert_error
from tracking.models import Task, TimeEntry

pytestmark = pytest.mark.django_db
NOT_UUIDS = [True, False, 123, 0, 1.5, ["0190c9b4-7f1e-7abc-8000-0000000000aa"], {"hex": "x"}]


def _creates(world):
    project = str(world.project_open.id)
    return [
        ("/api/v1/time-entries/start", {"project_id": project}),
        ("/api/v1/time-entries", {"project_id": project, "started_at": "2026-03-02T09:00:00Z", "duration_seconds": 60}),
        ("/api/v1/tasks", {"project_id": project, "title": "T"}),
        (f"/api/v1/projects?company={world.a.id}", {"name": "P"}),
    ]


@pytest.mark.parametrize("bad", NOT_UUIDS)
def test_a_client_id_that_is_not_a_string_is_400_naming_it(world, bad):
    api = world.api("owner")
    projects = Project.objects.count()
    for path, body in _creates(world):
        assert_error(api.post(path, {**body, "id": bad}, format="json"), 400, attr="id")
    assert not TimeEntry.objects.exists()
    assert not Task.objects.exists()
    assert Project.objects.count() == projects


@pytest.mark.parametrize("bad", [True, 123])
def test_a_sync_item_id_that_is_not_a_string_is_an_invalid_item(world, bad):
    item = {
        "idempotency_key": "k1",
        "entity": "task",
        "action": "upsert",
        "data": {"id": bad, "project_id": str(world.project_open.id), "title": "T"},
        "client_updated_at": "2026-03-02T09:00:00Z",
    }
    response = world.api("owner").post("/api/v1/sync/batch", {"device_id": "d", "items": [item]}, format="json")
    assert response.status_code == 200, response.content
    (conflict,) = response.json()["conflicts"]
    assert conflict["reason"] == "invalid"
    assert "id" in conflict["detail"]
    assert not Task.objects.exists()


def test_a_client_id_string_is_still_taken(world):
    eid = str(uuid.uuid4())
    response = world.api("owner").post(
        "/api/v1/tasks", {"id": eid, "project_id": str(world.project_open.id), "title": "T"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["id"] == eid
