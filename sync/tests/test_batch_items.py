"""POST /sync/batch, item by item (SPEC: an item that is itself malformed, no key or bad data,
is a conflict ``invalid``, never a 400 for the batch; docs/sync.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.models import SyncItemKey
from tests.support.api import assert_error
from tests.support.sync import T0, entry_item, push
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db


def keyless(item):
    del item["idempotency_key"]
    return item


def keyed(value):
    def make(item):
        item["idempotency_key"] = value
        return item

    return make


@pytest.mark.parametrize(
    "spoil",
    [keyless, keyed(None), keyed(""), keyed("   "), keyed(123), keyed(["k"]), lambda _: "not an item", lambda _: None],
    ids=["missing", "null", "empty", "blank", "number", "list", "a string", "null item"],
)
def test_an_item_without_a_usable_key_is_its_own_conflict_and_the_rest_applies(world, spoil):
    api = world.api("member")
    first, middle, last = entry_item(world), spoil(entry_item(world, hour=1)), entry_item(world, hour=2)

    response = push(api, [first, middle, last])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["processed"] == 2
    [conflict] = body["conflicts"]
    assert (conflict["idempotency_key"], conflict["reason"], conflict["server"]) == (None, "invalid", None)
    assert conflict["detail"]  # says what was wrong with it
    assert set(TimeEntry.objects.values_list("description", "started_at")) == {
        ("", T0),
        ("", T0 + timedelta(hours=2)),
    }

    # replaying the batch applies nothing twice; the bad item is answered the same again
    again = push(api, [first, middle, last]).json()
    assert (again["processed"], again["skipped"]) == (0, 2)
    assert [c["reason"] for c in again["conflicts"]] == ["invalid"]
    assert TimeEntry.objects.count() == 2
    assert SyncItemKey.objects.count() == 2


def test_an_item_that_breaks_the_item_shape_keeps_its_key_in_the_conflict(world):
    api = world.api("member")
    invoice = entry_item(world, hour=1)
    invoice["entity"] = "invoice"
    undated = entry_item(world, hour=2)
    undated["client_updated_at"] = "yesterday"
    extra = entry_item(world, hour=3)
    extra["colour"] = "red"
    body = push(api, [entry_item(world), invoice, undated, extra]).json()
    assert body["processed"] == 1
    assert [(c["idempotency_key"], c["reason"]) for c in body["conflicts"]] == [
        (invoice["idempotency_key"], "invalid"),
        (undated["idempotency_key"], "invalid"),
        (extra["idempotency_key"], "invalid"),
    ]
    assert "entity" in body["conflicts"][0]["detail"]
    assert "client_updated_at" in body["conflicts"][1]["detail"]
    assert "colour" in body["conflicts"][2]["detail"]
    assert TimeEntry.objects.count() == 1


def test_the_envelope_is_still_a_400_for_the_whole_batch(world):
    api = world.api("member")
    good = entry_item(world)
    assert_error(api.post("/api/v1/sync/batch", {"items": [good]}, format="json"), 400, attr="device_id")
    assert_error(api.post("/api/v1/sync/batch", {"device_id": "d"}, format="json"), 400, attr="items")
    not_a_list = api.post("/api/v1/sync/batch", {"device_id": "d", "items": {"0": good}}, format="json")
    assert_error(not_a_list, 400, attr="items.non_field_errors")
    too_many = push(api, [entry_item(world, hour=i) for i in range(1001)])
    assert_error(too_many, 413)
    assert not TimeEntry.objects.exists()
