"""GET /sync/changes and POST /sync/batch, with real commits (the log is numbered after commit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from changelog.models import Change, Tombstone
from changelog.services import changes_prune
from sync.models import SyncItemKey
from tests.support.api import assert_error
from tests.support.changes import unnumbered_change
from tracking import services as tracking
from tracking.models import Task, TimeEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def entry_item(world, *, key=None, eid=None, start=T0, hours=1, clock=T0, action="upsert", **data):
    eid = eid or str(uuid.uuid4())
    body = {"id": eid}
    if action == "upsert":
        body.update(
            project_id=str(world.project_open.id),
            started_at=iso(start),
            ended_at=iso(start + timedelta(hours=hours)),
            **data,
        )
    return {
        "idempotency_key": key or f"k-{uuid.uuid4()}",
        "entity": "time_entry",
        "action": action,
        "data": body,
        "client_updated_at": iso(clock),
    }


def push(api, items, device="laptop"):
    return api.post("/api/v1/sync/batch", {"device_id": device, "items": items})


def pull(api, cursor):
    return api.get(f"/api/v1/sync/changes?cursor={cursor}")


# --------------------------------------------------------------------------- changes


def test_changes_since_a_cursor_include_other_devices(world):
    laptop, phone = world.api("member"), world.api("member")
    start = phone.get("/api/v1/sync/changes").json()
    assert start["changes"] == []
    assert start["has_more"] is False
    cursor = start["next_cursor"]
    created = laptop.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).json()
    laptop.post("/api/v1/time-entries/stop", {})
    page = pull(phone, cursor).json()
    assert [(c["entity"], c["id"], c["action"]) for c in page["changes"]] == [
        ("time_entry", created["id"], "upsert"),
        ("time_entry", created["id"], "upsert"),
    ]
    assert page["changes"][1]["data"]["ended_at"] is not None
    assert [c["cursor"] for c in page["changes"]] == sorted(c["cursor"] for c in page["changes"])
    assert page["next_cursor"] >= page["changes"][-1]["cursor"]
    assert pull(phone, page["next_cursor"]).json()["changes"] == []


def test_a_pull_at_the_head_is_an_empty_page_until_something_commits(world):
    """The nothing-new pull answers without reading the log; a write committed but not yet
    numbered is numbered first, so the same cursor then sees it."""
    laptop, phone = world.api("member"), world.api("member")
    head = phone.get("/api/v1/sync/changes").json()["next_cursor"]
    assert pull(phone, head).json() == {"changes": [], "next_cursor": head, "has_more": False}
    unnumbered_change(world, payload={"id": "x"}, at=T0)  # committed, cursor NULL until numbered
    page = pull(laptop, head).json()
    assert [c["data"] for c in page["changes"]] == [{"id": "x"}]
    assert page["next_cursor"] > head
    assert_error(pull(phone, page["next_cursor"] + 1), 410, code="cursor_gone")


def test_a_pull_renders_each_change_exactly_as_the_change_serializer_does(world):
    """The pull writes its JSON from database text (no decode, no re-encode): it must still
    be the ChangeSerializer's shape, byte for byte in meaning, whole seconds included."""
    from changelog.sequencer import number_pending
    from sync.api.serializers import ChangeSerializer

    member = world.api("member")
    cursor = member.get("/api/v1/sync/changes").json()["next_cursor"]
    payload = {"id": "x", "nested": {"ü": [1, 2.5, None, True]}, "text": 'quote " and \\ backslash'}
    ats = [datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, 0, 120, tzinfo=UTC)]
    for at in ats:
        unnumbered_change(world, payload=payload, at=at)
    number_pending()
    got = pull(member, cursor).json()["changes"]
    expected = ChangeSerializer(Change.objects.filter(cursor__gt=cursor).order_by("cursor"), many=True).data
    assert got == expected
    assert [c["at"] for c in got] == ["2026-03-29T01:00:00Z", "2026-03-29T01:00:00.000120Z"]


def test_changes_respect_the_role_table(world):
    cursor = world.api("owner").get("/api/v1/sync/changes").json()["next_cursor"]
    member_entry = (
        world.api("member").post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).json()
    )
    loner_entry = (
        world.api("loner").post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).json()
    )
    team_task = tracking.task_create(project=world.project_team, data={"title": "team only"})
    world.api("outsider").post("/api/v1/time-entries/start", {"project_id": str(world.project_b.id)})

    def ids(role):
        return {c["id"] for c in pull(world.api(role), cursor).json()["changes"]}

    assert ids("owner") == {member_entry["id"], loner_entry["id"], str(team_task.id)}
    assert ids("lead") == {member_entry["id"], str(team_task.id)}  # leads the member's team
    assert ids("member") == {member_entry["id"], str(team_task.id)}
    assert ids("loner") == {loner_entry["id"]}  # no other member's entries, not the team's task
    outsider = ids("outsider")
    assert len(outsider) == 1
    assert not outsider & {member_entry["id"], loner_entry["id"], str(team_task.id)}


def test_a_member_of_two_companies_pulls_both_in_cursor_order(world):
    """One company's pull is bounded by its (company, cursor) index range; two companies' is
    not: both answer every visible change once, in cursor order, page by page."""
    from accounts.tests.factories import MembershipFactory

    MembershipFactory(user=world.users["member"], company=world.b)
    api = world.api("member")
    cursor = api.get("/api/v1/sync/changes").json()["next_cursor"]
    in_a = push(api, [entry_item(world, start=T0)])
    assert in_a.json()["processed"] == 1
    in_b = entry_item(world, start=T0 + timedelta(hours=2))
    in_b["data"]["project_id"] = str(world.project_b.id)
    assert push(api, [in_b]).json()["processed"] == 1
    world.api("outsider").post("/api/v1/time-entries/start", {"project_id": str(world.project_b.id)})
    whole = pull(api, cursor).json()["changes"]
    seen, has_more, at = [], True, cursor
    while has_more:
        page = api.get(f"/api/v1/sync/changes?cursor={at}&limit=1").json()
        seen += page["changes"]
        at, has_more = page["next_cursor"], page["has_more"]
    assert seen == whole
    assert [c["data"]["project_id"] for c in whole] == [str(world.project_open.id), str(world.project_b.id)]
    assert [c["cursor"] for c in whole] == sorted(c["cursor"] for c in whole)


def test_changes_paginate_without_gaps_or_duplicates(world):
    api = world.api("member")
    cursor = api.get("/api/v1/sync/changes").json()["next_cursor"]
    push(api, [entry_item(world, start=T0 + timedelta(hours=2 * i)) for i in range(7)])
    seen, has_more = [], True
    while has_more:
        page = api.get(f"/api/v1/sync/changes?cursor={cursor}&limit=3").json()
        seen += [c["cursor"] for c in page["changes"]]
        cursor, has_more = page["next_cursor"], page["has_more"]
    assert len(seen) == 7
    assert seen == sorted(set(seen))


def test_a_pruned_or_unknown_cursor_is_410(world):
    api = world.api("member")
    push(api, [entry_item(world)])
    Change.objects.update(at=timezone.now() - timedelta(days=31))
    head = api.get("/api/v1/sync/changes").json()["next_cursor"]
    assert changes_prune() >= 1
    body = assert_error(pull(api, 0), 410)
    assert body["errors"][0]["code"] == "cursor_gone"
    assert pull(api, head).status_code == 200
    assert_error(pull(api, head + 1000), 410)
    assert_error(api.get("/api/v1/sync/changes?cursor=-1"), 400, attr="cursor")


# --------------------------------------------------------------------------- batch


def test_batch_applies_items_and_replays_apply_nothing_twice(world):
    api = world.api("member")
    items = [entry_item(world, start=T0 + timedelta(hours=2 * i)) for i in range(3)]
    first = push(api, items)
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["processed"], body["skipped"], body["conflicts"]) == (3, 0, [])
    assert isinstance(body["cursor"], int)
    again = push(api, items).json()
    assert (again["processed"], again["skipped"], again["conflicts"]) == (0, 3, [])
    assert TimeEntry.objects.filter(user=world.users["member"], source="SYNC").count() == 3


def test_forgotten_keys_still_never_make_a_second_copy(world):
    api = world.api("member")
    item = entry_item(world)
    push(api, [item])
    SyncItemKey.objects.all().delete()  # the server forgot the keys (past 30 days)
    body = push(api, [item]).json()
    # same entity id, same clock: the server's copy is not older, so it is a stale conflict
    assert body["conflicts"][0]["reason"] == "stale"
    assert body["conflicts"][0]["server"]["id"] == item["data"]["id"]
    assert TimeEntry.objects.count() == 1


def test_last_writer_wins_by_client_updated_at(world):
    api = world.api("member")
    item = entry_item(world, clock=T0, description="first")
    push(api, [item])
    newer = {**entry_item(world, eid=item["data"]["id"], clock=T0 + timedelta(minutes=5), description="newer")}
    assert push(api, [newer]).json()["processed"] == 1
    older = entry_item(world, eid=item["data"]["id"], clock=T0 + timedelta(minutes=1), description="older")
    conflict = push(api, [older]).json()["conflicts"][0]
    assert (conflict["reason"], conflict["server"]["description"]) == ("stale", "newer")
    assert TimeEntry.objects.get(pk=item["data"]["id"]).description == "newer"
    # a REST edit takes the server's clock, so an offline edit from before it loses
    api.patch(f"/api/v1/time-entries/{item['data']['id']}", {"description": "web"})
    offline = entry_item(world, eid=item["data"]["id"], clock=T0 + timedelta(minutes=10), description="offline")
    assert push(api, [offline]).json()["conflicts"][0]["reason"] == "stale"


def test_overlap_is_a_conflict_carrying_the_server_version_and_the_rest_applies(world):
    api = world.api("member")
    push(api, [entry_item(world, start=T0, hours=2)])
    clash, fine = entry_item(world, start=T0 + timedelta(hours=1)), entry_item(world, start=T0 + timedelta(hours=5))
    body = push(api, [clash, fine]).json()
    assert body["processed"] == 1
    assert [(c["idempotency_key"], c["reason"]) for c in body["conflicts"]] == [(clash["idempotency_key"], "overlap")]
    assert TimeEntry.objects.count() == 2


def test_deletes_become_tombstones_and_replays_are_harmless(world):
    api = world.api("member")
    item = entry_item(world)
    push(api, [item])
    cursor = api.get("/api/v1/sync/changes").json()["next_cursor"]
    delete = entry_item(world, eid=item["data"]["id"], action="delete", clock=T0 + timedelta(hours=1))
    assert push(api, [delete]).json()["processed"] == 1
    assert TimeEntry.objects.get(pk=item["data"]["id"]).deleted_at is not None
    change = pull(api, cursor).json()["changes"][-1]
    assert (change["action"], change["id"], change["data"]["deleted_at"] is not None) == (
        "delete",
        item["data"]["id"],
        True,
    )
    # the delete replayed with a new key changes nothing; an old upsert cannot revive it
    assert push(api, [{**delete, "idempotency_key": "again"}]).json()["skipped"] == 1
    revive = entry_item(world, eid=item["data"]["id"], clock=T0 + timedelta(hours=2))
    assert push(api, [revive]).json()["conflicts"][0]["reason"] == "deleted"


def test_tasks_through_the_batch(world):
    api = world.api("member")
    tid = str(uuid.uuid4())
    task = {
        "idempotency_key": "t1",
        "entity": "task",
        "action": "upsert",
        "client_updated_at": iso(T0),
        "data": {"id": tid, "project_id": str(world.project_open.id), "title": "Offline task"},
    }
    assert push(api, [task]).json()["processed"] == 1
    assert Task.objects.get(pk=tid).title == "Offline task"
    delete = {
        **task,
        "idempotency_key": "t2",
        "action": "delete",
        "data": {"id": tid},
        "client_updated_at": iso(T0 + timedelta(minutes=1)),
    }
    assert push(api, [delete]).json()["processed"] == 1
    assert Tombstone.objects.filter(entity_id=tid).exists()
    revive = {**task, "idempotency_key": "t3", "client_updated_at": iso(T0 + timedelta(minutes=2))}
    assert push(api, [revive]).json()["conflicts"][0]["reason"] == "deleted"
    assert not Task.objects.filter(pk=tid).exists()


def test_batch_cannot_touch_other_users_or_companies(world):
    theirs = entry_item(world)
    push(world.api("lead"), [theirs])
    steal = entry_item(world, eid=theirs["data"]["id"], clock=T0 + timedelta(days=1), description="mine now")
    body = push(world.api("member"), [steal]).json()
    assert body["conflicts"][0]["reason"] == "not_found"
    assert body["conflicts"][0]["server"] is None
    foreign = entry_item(world)
    foreign["data"]["project_id"] = str(world.project_b.id)
    assert push(world.api("member"), [foreign]).json()["conflicts"][0]["reason"] == "not_found"
    assert TimeEntry.objects.get(pk=theirs["data"]["id"]).description == ""
    assert TimeEntry.objects.count() == 1


def test_invalid_items_are_per_item_conflicts(world):
    api = world.api("member")
    bad = entry_item(world)
    bad["data"]["started_at"] = "not a date"
    no_id = entry_item(world)
    del no_id["data"]["id"]
    good = entry_item(world, start=T0 + timedelta(hours=3))
    body = push(api, [bad, no_id, good]).json()
    assert body["processed"] == 1
    assert [c["reason"] for c in body["conflicts"]] == ["invalid", "invalid"]
    assert "started_at" in body["conflicts"][0]["detail"]


def test_oversize_and_malformed_batches_apply_nothing(world):
    api = world.api("member")
    items = [entry_item(world, start=T0 + timedelta(hours=i)) for i in range(1001)]
    body = assert_error(push(api, items), 413)
    assert body["errors"][0]["code"] == "payload_too_large"
    not_a_list = api.post("/api/v1/sync/batch", {"device_id": "x", "items": "nope"})
    assert_error(not_a_list, 400, attr="items.non_field_errors")
    assert_error(api.post("/api/v1/sync/batch", {"items": []}), 400, attr="device_id")
    assert not TimeEntry.objects.exists()
    # An item that is malformed is that item's conflict, not a 400 for the batch (SPEC; more
    # in test_batch_items.py): the good one applies.
    malformed = entry_item(world)
    malformed["entity"] = "invoice"
    body = push(api, [entry_item(world), malformed]).json()
    assert (body["processed"], [c["reason"] for c in body["conflicts"]]) == (1, ["invalid"])
    assert body["conflicts"][0]["idempotency_key"] == malformed["idempotency_key"]
    assert TimeEntry.objects.count() == 1


def test_a_running_entry_through_the_batch(world):
    api = world.api("member")
    item = entry_item(world)
    del item["data"]["ended_at"]
    assert push(api, [item]).json()["processed"] == 1
    assert api.get("/api/v1/time-entries/current").json()["id"] == item["data"]["id"]


@pytest.mark.parametrize("key", [7, 7.5, True, None, ["k"]])
def test_a_batch_item_key_and_device_id_must_be_strings(world, key):
    # Found by schema fuzzing: DRF turned a number into its text, so 7 and "7" were one key.
    item = {"idempotency_key": key, "entity": "task", "action": "delete", "data": {"id": str(uuid.uuid4())}}
    item["client_updated_at"] = "2026-01-01T00:00:00Z"
    response = world.api("owner").post("/api/v1/sync/batch", {"device_id": "d1", "items": [item]})
    # SPEC: an item without a usable key is its own conflict "invalid" (key null), not a 400
    assert response.status_code == 200, response.content
    [conflict] = response.json()["conflicts"]
    assert (conflict["idempotency_key"], conflict["reason"], conflict["server"]) == (None, "invalid", None)
    assert "idempotency_key" in conflict["detail"]
    assert response.json()["processed"] == 0
    assert not SyncItemKey.objects.exists()
    response = world.api("owner").post("/api/v1/sync/batch", {"device_id": key, "items": []})
    assert_error(response, 400, attr="device_id")


@pytest.mark.usefixtures("fresh_channel_layer")
@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "idempotency-key"])
def test_a_batch_answers_its_cursor_and_tells_the_users_devices_with_or_without_a_key(world, keyed):
    """Under an Idempotency-Key the whole request is one transaction, and what the batch does
    after commit (number its changes, answer their cursor, send sync.applied) was skipped: the
    answer said cursor null and the user's other devices heard nothing."""
    from asgiref.sync import sync_to_async

    from tests.support.sockets import opened, receive, run, socket_for, token_for

    api = world.api("member")
    headers = {"HTTP_IDEMPOTENCY_KEY": "batch-1"} if keyed else {}
    items = [entry_item(world), entry_item(world, start=T0 + timedelta(hours=2))]
    token = token_for(world.users["member"])

    def post():
        return api.post("/api/v1/sync/batch", {"device_id": "laptop", "items": items}, format="json", **headers)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        response = await sync_to_async(post)()
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["processed"] == 2
        assert isinstance(answer["cursor"], int)
        last = await sync_to_async(Change.objects.filter(entity_id=items[1]["data"]["id"]).get)()
        assert answer["cursor"] == last.cursor
        event = await receive(comm)
        while event["type"] != "sync.applied":  # the batch's own changes may come first
            event = await receive(comm)
        assert (event["cursor"], event["data"]) == (
            answer["cursor"],
            {"device_id": "laptop", "processed": 2, "skipped": 0, "conflicts": 0},
        )
        await comm.disconnect()
        return answer

    answer = run(body)
    if keyed:  # the replay is the answer as it was sent, cursor and all
        replay = post()
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.json() == answer
