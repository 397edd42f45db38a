"""The pause through POST /sync/batch (docs/sync.md "Pause and resume offline"): an upsert that
ends an entry with ``paused: true`` is remembered as POST /time-entries/pause would; a new
running upsert is a resume (any start forgets the pause)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from changelog.models import Change
from tests.support.api import assert_error
from tests.support.sync import T0, entry_item, iso, push
from tracking.models import PausedTimer, TimeEntry

pytestmark = pytest.mark.django_db
RESUME = "/api/v1/time-entries/resume"


def test_an_offline_pause_is_an_upsert_with_an_end_and_paused_true(world):
    # given a timer started over REST
    api = world.api("member")
    running = api.post(
        "/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "description": "Offline draft"}
    ).json()
    # when the laptop, offline, paused it and pushes the stop with paused: true
    item = entry_item(world, clock=datetime.now(UTC) + timedelta(seconds=5))
    item["data"] = {"id": running["id"], "ended_at": iso(datetime.now(UTC)), "paused": True}
    body = push(api, [item]).json()
    assert (body["processed"], body["conflicts"]) == (1, [])

    # then the entry ended, and the web's Resume copies it
    assert TimeEntry.objects.get(pk=running["id"]).ended_at is not None
    assert events(running["id"]) == ["timer.started", "timer.stopped"]  # as a stop over REST
    resumed = api.post(RESUME, {})
    assert resumed.status_code == 201, resumed.content
    assert resumed.json()["description"] == "Offline draft"


def test_an_entry_started_and_paused_offline_is_resumable(world):
    api = world.api("member")
    body = push(api, [entry_item(world, description="On the train", paused=True)]).json()
    assert (body["processed"], body["conflicts"]) == (1, [])
    assert api.post(RESUME, {}).json()["description"] == "On the train"


def test_resuming_offline_is_a_new_running_upsert_and_forgets_the_pause(world):
    api = world.api("member")
    push(api, [entry_item(world, paused=True)])
    resumed = entry_item(world, hour=1, clock=T0 + timedelta(hours=1))
    del resumed["data"]["ended_at"]
    assert push(api, [resumed]).json()["processed"] == 1
    assert not PausedTimer.objects.exists()
    assert_error(api.post(RESUME, {}), 409, code="not_paused")


def test_paused_false_forgets_the_pause_and_paused_on_a_running_entry_is_invalid(world):
    api = world.api("member")
    paused = entry_item(world, paused=True)
    push(api, [paused])
    unpause = entry_item(world, clock=T0 + timedelta(hours=1))
    unpause["data"] = {"id": paused["data"]["id"], "paused": False}
    assert push(api, [unpause]).json()["processed"] == 1
    assert not PausedTimer.objects.exists()

    running = entry_item(world, hour=2, paused=True)
    del running["data"]["ended_at"]
    body = push(api, [running]).json()
    assert [c["reason"] for c in body["conflicts"]] == ["invalid"]
    assert "paused" in body["conflicts"][0]["detail"]
    assert not TimeEntry.objects.filter(pk=running["data"]["id"]).exists()


def test_a_paused_item_in_a_batch_of_new_entries_is_remembered(world):
    # the batch's set-based path (every item a new finished entry) leaves a paused item to
    # the one-by-one path, which remembers it
    api = world.api("member")
    items = [entry_item(world), entry_item(world, hour=1, description="last", paused=True)]
    assert push(api, items).json()["processed"] == 2
    assert PausedTimer.objects.get().entry_id == uuid.UUID(items[1]["data"]["id"])


def events(entry_id) -> list[str]:
    return list(Change.objects.filter(entity_id=entry_id).order_by("id").values_list("event", flat=True))
