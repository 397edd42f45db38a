"""``/api/0/``: aw-server's API on Stint (SPEC: "Bring your own tracker", ActivityWatch):
buckets, heartbeats merged by aw-server's rule, events, counts, export; errors in aw-server's
shape; each user sees only their own buckets."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from activity.models import AwBucket, AwEvent, HeartbeatInbox
from tests.support.activitywatch import AW, at, aw_api, create_bucket, event, heartbeat

pytestmark = pytest.mark.django_db

WINDOW = "aw-watcher-window_laptop"


def assert_aw_error(response, status: int, contains: str = "") -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message"}, body
    assert contains.lower() in body["message"].lower(), body
    return body


@pytest.fixture
def member(world):
    """The member's watcher: an ingest-scoped personal access token as HTTP Basic's user."""
    return aw_api(world.users["member"])


def test_a_watcher_creates_its_bucket_once_and_lists_it(world, member):
    assert create_bucket(member, WINDOW).status_code == 200
    assert create_bucket(member, WINDOW, hostname="elsewhere").status_code == 304  # kept as it was
    buckets = member.get(f"{AW}/buckets/").json()
    assert list(buckets) == [WINDOW]
    meta = buckets[WINDOW]
    assert meta["id"] == WINDOW
    assert (meta["type"], meta["client"], meta["hostname"]) == ("currentwindow", "aw-watcher-window", "laptop")
    assert "last_updated" not in meta  # no events yet
    assert member.get(f"{AW}/buckets/{WINDOW}").json() == dict(meta.items())
    bucket = AwBucket.objects.get()
    assert (bucket.company_id, bucket.user_id) == (world.a.id, world.users["member"].id)


def test_heartbeats_merge_by_aw_servers_rule(member):
    create_bucket(member, WINDOW)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    code = {"app": "Code", "title": "stint.py"}
    first = heartbeat(member, WINDOW, event(0, base=base, **code)).json()
    assert first["duration"] == 0.0
    assert isinstance(first["id"], int)
    merged = heartbeat(member, WINDOW, event(5, base=base, **code)).json()
    assert (merged["id"], merged["duration"]) == (first["id"], 5.0)
    # exactly pulsetime after the end still merges; a heartbeat inside never shrinks it
    assert heartbeat(member, WINDOW, event(15, base=base, **code), pulsetime=10).json()["duration"] == 15.0
    assert heartbeat(member, WINDOW, event(3, 1, base=base, **code)).json()["duration"] == 15.0
    # other data: a new event; the same data after the pulse window: a new event too
    other = heartbeat(member, WINDOW, event(16, base=base, app="Firefox", title="Docs")).json()
    assert other["id"] != first["id"]
    late = heartbeat(member, WINDOW, event(100, base=base, app="Firefox", title="Docs"), pulsetime=10).json()
    assert late["id"] != other["id"]
    events = member.get(f"{AW}/buckets/{WINDOW}/events").json()  # newest first
    assert [(e["timestamp"], e["duration"], e["data"]) for e in events] == [
        (at(100, base), 0.0, {"app": "Firefox", "title": "Docs"}),
        (at(16, base), 0.0, {"app": "Firefox", "title": "Docs"}),
        (at(0, base), 15.0, code),
    ]
    assert member.get(f"{AW}/buckets/{WINDOW}/events/count").json() == 3


def test_timestamps_read_back_as_aw_core_renders_them(member):
    create_bucket(member, WINDOW)
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=123456)
    body = {"timestamp": stamp.astimezone().isoformat(), "duration": 1.5, "data": {"app": "Code"}}
    answer = heartbeat(member, WINDOW, body).json()
    # milliseconds, UTC, "+00:00": aw-core's Event.to_json_dict
    assert answer["timestamp"] == stamp.replace(microsecond=123000).isoformat()
    assert member.get(f"{AW}/buckets/{WINDOW}/events").json() == [answer]


def test_events_are_inserted_listed_limited_and_trimmed(member):
    create_bucket(member, "custom", type_="my.type")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    single = member.post(f"{AW}/buckets/custom/events", event(0, 60, base=base, n=1), format="json")
    assert single.status_code == 200
    assert single.json()["data"] == {"n": 1}
    listed = member.post(
        f"{AW}/buckets/custom/events", [event(120, 60, base=base, n=2), event(240, 60, base=base, n=3)], format="json"
    )
    assert listed.status_code == 200
    assert listed.json() is None
    url = f"{AW}/buckets/custom/events"
    assert [e["data"]["n"] for e in member.get(url, {"limit": -1}).json()] == [3, 2, 1]
    assert [e["data"]["n"] for e in member.get(url, {"limit": 2}).json()] == [3, 2]
    assert member.get(url, {"limit": 0}).json() == []
    window = member.get(url, {"start": at(150, base), "end": at(270, base)}).json()
    assert [(e["data"]["n"], e["timestamp"], e["duration"]) for e in window] == [
        (3, at(240, base), 30.0),  # trimmed at the end
        (2, at(150, base), 30.0),  # trimmed at the start
    ]
    assert member.get(f"{url}/count", {"start": at(150, base), "end": at(270, base)}).json() == 2
    one = member.get(f"{url}/{single.json()['id']}").json()
    assert one == single.json()
    assert member.delete(f"{url}/{one['id']}").json() == {"success": True}
    assert member.get(f"{url}/count").json() == 2


def test_export_is_aw_servers_format(member):
    create_bucket(member, WINDOW)
    heartbeat(member, WINDOW, event(0, 2, app="Code"))
    response = member.get(f"{AW}/export")
    assert response["Content-Disposition"] == "attachment; filename=aw-buckets-export.json"
    exported = response.json()["buckets"][WINDOW]
    assert exported["type"] == "currentwindow"
    assert [set(e) for e in exported["events"]] == [{"timestamp", "duration", "data"}]  # ids scrubbed
    one = member.get(f"{AW}/buckets/{WINDOW}/export").json()
    assert one == {"buckets": {WINDOW: exported}}


def test_bad_requests_answer_in_aw_servers_shape_and_store_nothing(member):
    create_bucket(member, WINDOW)
    assert_aw_error(heartbeat(member, "nope", event(0, app="Code")), 404, "no bucket named nope")
    assert_aw_error(member.get(f"{AW}/buckets/nope/events"), 404, "no bucket")
    assert_aw_error(member.post(f"{AW}/buckets/{WINDOW}/heartbeat", event(0, app="A"), format="json"), 400, "pulsetime")
    for bad in [
        {"duration": 1, "data": {}},  # no timestamp
        {"timestamp": "yesterday", "data": {}},
        {"timestamp": at(0), "duration": "long", "data": {}},
        {"timestamp": at(0), "duration": -1, "data": {}},
        {"timestamp": at(0), "data": ["app"]},
        {"timestamp": "1900-01-01T00:00:00+00:00", "data": {}},
        {"timestamp": "2999-01-01T00:00:00+00:00", "data": {}},
        {"timestamp": at(0), "data": {"title": "a\u0000b"}},
        [],
    ]:
        assert_aw_error(heartbeat(member, WINDOW, bad), 400)
    # one bad event refuses the whole list
    assert_aw_error(member.post(f"{AW}/buckets/{WINDOW}/events", [event(0), {"data": {}}], format="json"), 400)
    assert_aw_error(member.post(f"{AW}/buckets/{WINDOW}", {"client": "x"}, format="json"), 400, "type")
    assert_aw_error(member.get(f"{AW}/buckets/{WINDOW}/events", {"limit": "many"}), 400, "limit")
    assert not AwEvent.objects.exists()
    assert not HeartbeatInbox.objects.exists()


def test_a_bucket_is_deleted_only_with_force(member):
    create_bucket(member, WINDOW)
    heartbeat(member, WINDOW, event(0, app="Code"))
    assert_aw_error(member.delete(f"{AW}/buckets/{WINDOW}"), 401, "force")
    assert member.delete(f"{AW}/buckets/{WINDOW}?force=1").status_code == 200
    assert not AwBucket.objects.exists()
    assert not AwEvent.objects.exists()
    assert_aw_error(member.get(f"{AW}/buckets/{WINDOW}"), 404)


def test_no_token_or_a_bad_one_is_401_in_aw_servers_shape(api):
    assert_aw_error(api.get(f"{AW}/buckets/"), 401)
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_aw_error(api.get(f"{AW}/info"), 401)
    api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{uuid.uuid4()}:".encode()).decode())
    assert_aw_error(api.get(f"{AW}/info"), 401)


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "bearer"])
@pytest.mark.parametrize("scope", ["ingest", "write"])
def test_ingest_and_write_tokens_send_as_basic_or_bearer(world, basic, scope):
    watcher = aw_api(world.users["member"], scopes=[scope], basic=basic)
    assert create_bucket(watcher, WINDOW).status_code == 200
    assert heartbeat(watcher, WINDOW, event(0, app="Code")).status_code == 200
    assert watcher.get(f"{AW}/buckets/{WINDOW}/events/count").json() == 1
    assert watcher.get(f"{AW}/info").json()["device_id"] == str(world.a.id)


def test_a_read_only_token_reads_but_sends_nothing(world, member):
    create_bucket(member, WINDOW)
    reader = aw_api(world.users["member"], scopes=["read"])
    assert reader.get(f"{AW}/buckets/").json().keys() == {WINDOW}
    assert_aw_error(heartbeat(reader, WINDOW, event(0, app="Code")), 403, "scope")
    assert_aw_error(create_bucket(reader, "another"), 403, "scope")
    assert_aw_error(reader.delete(f"{AW}/buckets/{WINDOW}?force=1"), 403, "scope")
    assert not AwEvent.objects.exists()
    assert AwBucket.objects.count() == 1


def test_a_revoked_token_stops_at_once(world):
    from accounts.models import PersonalAccessToken
    from accounts.personal_tokens import personal_token_revoke

    watcher = aw_api(world.users["member"])
    assert create_bucket(watcher, WINDOW).status_code == 200
    personal_token_revoke(token=PersonalAccessToken.objects.get(), by=world.users["member"])
    assert_aw_error(heartbeat(watcher, WINDOW, event(0, app="Code")), 401)


def test_a_token_bound_to_a_company_keeps_its_buckets_there(world):
    # the owner of company B is made a member of A too: a token bound to B files under B
    from organizations.models import Membership, Role

    outsider = world.users["outsider"]
    Membership.objects.create(user=outsider, company=world.a, role=Role.MEMBER)
    watcher = aw_api(outsider, company=world.b)
    assert create_bucket(watcher, WINDOW).status_code == 200
    assert AwBucket.objects.get().company_id == world.b.id
    assert aw_api(outsider, company=world.a).get(f"{AW}/buckets/").json() == {}


def test_the_unsupported_rest_of_aw_servers_api_says_so(member):
    assert_aw_error(member.post(f"{AW}/query/", {}, format="json"), 404, "not supported")
    assert_aw_error(member.get(f"{AW}/settings"), 404, "not supported")


@pytest.mark.parametrize("other", ["loner", "owner", "outsider"])
def test_another_users_buckets_do_not_exist_for_you(world, member, other):
    create_bucket(member, WINDOW)
    heartbeat(member, WINDOW, event(0, app="Code"))
    eid = AwEvent.objects.get().pk
    them = aw_api(world.users[other])
    assert them.get(f"{AW}/buckets/").json() == {}
    assert them.get(f"{AW}/export").json() == {"buckets": {}}
    for response in [
        them.get(f"{AW}/buckets/{WINDOW}"),
        them.get(f"{AW}/buckets/{WINDOW}/events"),
        them.get(f"{AW}/buckets/{WINDOW}/events/count"),
        them.get(f"{AW}/buckets/{WINDOW}/events/{eid}"),
        them.delete(f"{AW}/buckets/{WINDOW}/events/{eid}"),
        them.get(f"{AW}/buckets/{WINDOW}/export"),
        heartbeat(them, WINDOW, event(1, app="Theirs")),
        them.post(f"{AW}/buckets/{WINDOW}/events", [event(1, app="Theirs")], format="json"),
        them.delete(f"{AW}/buckets/{WINDOW}?force=1"),
    ]:
        assert_aw_error(response, 404, "no")
    # their own bucket of the same name is theirs alone
    assert create_bucket(them, WINDOW).status_code == 200
    assert len(member.get(f"{AW}/buckets/{WINDOW}/events").json()) == 1
    assert AwEvent.objects.count() == 1


def test_an_event_with_the_id_of_one_of_the_buckets_events_replaces_it(world, member):
    create_bucket(member, "custom", type_="my.type")
    first = member.post(f"{AW}/buckets/custom/events", event(0, 5, n=1), format="json").json()
    member.post(f"{AW}/buckets/custom/events", [{**event(0, 9, n=2), "id": first["id"]}], format="json")
    assert [(e["id"], e["duration"], e["data"]) for e in member.get(f"{AW}/buckets/custom/events").json()] == [
        (first["id"], 9.0, {"n": 2})
    ]
    # the id of another user's event is not a way into their bucket: it is a new event here
    them = aw_api(world.users["loner"])
    create_bucket(them, "custom", type_="my.type")
    them.post(f"{AW}/buckets/custom/events", [{**event(1, 1, n=3), "id": first["id"]}], format="json")
    assert_aw_error(them.get(f"{AW}/buckets/custom/events/{first['id']}"), 404)
    assert member.get(f"{AW}/buckets/custom/events/{first['id']}").json()["data"] == {"n": 2}
    assert AwEvent.objects.count() == 2
