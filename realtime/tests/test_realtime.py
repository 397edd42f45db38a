"""/ws/realtime/ (SPEC: Realtime): the consumer through channels' WebsocketCommunicator, then
over real sockets against daphne subprocesses on the real Redis channel layer.

Transactional tests throughout: events are published only after a commit."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as ws_connect

from accounts.tokens import SESSION_ID_CLAIM, mark_sessions_revoked
from changelog import audience, publishing, recording, sequencer
from changelog import selectors as changelog_selectors
from changelog.models import Change, SyncState
from common.redis import get_client
from conftest import daphne_servers, free_port
from organizations import services as org_services
from organizations.models import Membership, Role
from organizations.tests.world import api_as
from realtime.api.views import RealtimeTicketView
from realtime.consumers import RealtimeConsumer
from realtime.fanout import Hub
from realtime.tickets import TICKET_SECONDS, _key, ticket_issue, ticket_redeem
from tests.support.changes import unnumbered_change
from tests.support.sockets import (
    ALLOWED_ORIGIN,
    closes_with,
    device,
    events,
    opened,
    presence_of,
    quiet,
    receive,
    run,
    socket_for,
    token_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]


START = "/api/v1/time-entries/start"


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _start_timer(user, project) -> dict:
    response = api_as(user).post(START, {"project_id": str(project.id)})
    assert response.status_code == 201, response.content
    return response.json()


async def start_timer(user, project) -> dict:
    """Through the REST API, as the user's app does; the event follows the commit."""
    return await sync_to_async(_start_timer)(user, project)


def _logout(token: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.post("/api/v1/auth/logout").status_code


def issue_ticket_over_api(*, token=None, session_user=None):
    request = APIRequestFactory().post("/api/v1/realtime/ticket")
    if token:
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if session_user:
        request.user = session_user  # what the session middleware sets for the dashboard
    return RealtimeTicketView.as_view()(request)


# --------------------------------------------------------------------------- authentication


def test_token_socket_gets_its_users_timer_event_started_over_rest(world):
    member, project = world.users["member"], world.project_team
    token = token_for(member)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        entry = await start_timer(member, project)
        [event] = await events(comm, 1)
        assert event["type"] == "timer.started"
        assert event["data"]["id"] == entry["id"]
        assert event["company_id"] == str(world.a.id)
        assert isinstance(event["cursor"], int)
        assert event["at"].endswith("Z")
        await comm.disconnect()

    run(body)


def _expired_token(user) -> str:
    _, session_id = device(user)
    token = AccessToken.for_user(user)
    token[SESSION_ID_CLAIM] = session_id
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=15))
    return str(token)


def _revoked_token(user) -> str:
    access, session_id = device(user)
    mark_sessions_revoked([session_id])
    return access


BAD_CREDENTIALS = {
    "no credentials": lambda user: {},
    "garbage token": lambda user: {"token": "not-a-jwt"},
    "expired token": lambda user: {"token": _expired_token(user)},
    "revoked session": lambda user: {"token": _revoked_token(user)},
    "bearer without a token": lambda user: {"token": ""},
    "unknown ticket": lambda user: {"ticket": "made-up"},
}


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS))
def test_missing_wrong_or_expired_auth_is_accepted_then_closed_4401_within_3s(world, credentials):
    kwargs = BAD_CREDENTIALS[credentials](world.users["member"])

    async def body():
        comm = socket_for(**kwargs)
        started = time.monotonic()
        connected, _ = await comm.connect(timeout=3)
        assert connected  # accepted first, so the client sees the code, not a failed handshake
        await closes_with(comm, 4401, within=3 - (time.monotonic() - started))
        await comm.disconnect()

    run(body)


def test_a_foreign_origin_is_refused_even_with_a_valid_token(world):
    token = token_for(world.users["member"])

    async def body():
        comm = socket_for(token=token, origin="https://evil.example")
        connected, _ = await comm.connect(timeout=5)
        assert not connected
        await comm.disconnect()

    run(body)


def test_session_cookie_works_from_an_allowed_origin_and_sees_the_companys_events(world, settings):
    settings.REALTIME_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    manager, member = world.users["manager"], world.users["member"]
    cookie = cookie_for(manager)

    async def body():
        comm = await opened(socket_for(cookie=cookie, origin=ALLOWED_ORIGIN))
        entry = await start_timer(member, world.project_team)
        events_seen = await events(comm, 1)
        assert [(e["type"], e["data"]["id"]) for e in events_seen] == [("timer.started", entry["id"])]
        await comm.disconnect()

    run(body)


def test_session_cookie_without_origin_is_not_enough(world, settings):
    settings.REALTIME_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    cookie = cookie_for(world.users["manager"])

    async def body():
        comm = socket_for(cookie=cookie)  # a desktop app, or a script with a stolen cookie jar
        connected, _ = await comm.connect(timeout=5)
        assert connected
        await closes_with(comm, 4401, within=3)
        await comm.disconnect()

    run(body)


def test_session_cookie_of_a_signed_out_dashboard_is_refused(world, settings):
    settings.REALTIME_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    client = Client()
    client.force_login(world.users["manager"])
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.logout()

    async def body():
        comm = socket_for(cookie=cookie, origin=ALLOWED_ORIGIN)
        assert (await comm.connect(timeout=5))[0]
        await closes_with(comm, 4401, within=3)
        await comm.disconnect()

    run(body)


# --------------------------------------------------------------------------- tickets


def test_ticket_from_the_api_opens_one_socket_once(world):
    member = world.users["member"]
    response = issue_ticket_over_api(token=token_for(member))
    assert response.status_code == 201
    ticket = response.data["ticket"]
    expires_at = parse_datetime(response.data["expires_at"])
    assert timedelta(seconds=25) < expires_at - timezone.now() <= timedelta(seconds=TICKET_SECONDS)

    async def body():
        first = await opened(socket_for(ticket=ticket))  # no Origin: a desktop app
        entry = await start_timer(member, world.project_team)
        assert (await events(first, 1))[0]["data"]["id"] == entry["id"]
        again = socket_for(ticket=ticket)
        assert (await again.connect(timeout=5))[0]
        await closes_with(again, 4401, within=3)
        await again.disconnect()
        await first.disconnect()

    run(body)


def test_ticket_lives_30_seconds_and_an_expired_one_is_refused(world):
    member = world.users["member"]
    _, session_id = device(member)
    ticket, _ = ticket_issue(user=member, session_id=session_id)
    redis = get_client()
    assert 0 < redis.ttl(_key(ticket)) <= TICKET_SECONDS
    redis.pexpire(_key(ticket), 1)  # let it run out, rather than wait half a minute
    time.sleep(0.05)

    async def body():
        comm = socket_for(ticket=ticket)
        assert (await comm.connect(timeout=5))[0]
        await closes_with(comm, 4401, within=3)
        await comm.disconnect()

    run(body)


def test_ticket_is_stored_only_hashed_and_redeems_once(world):
    member = world.users["member"]
    ticket, _ = ticket_issue(user=member, session_id=None)
    redis = get_client()
    stored = [(k, redis.get(k)) for k in redis.scan_iter(f"{settings.CACHE_KEY_PREFIX}:ws-ticket:*")]
    assert len(stored) == 1
    assert ticket.encode() not in stored[0][0] + stored[0][1]  # a Redis dump opens no socket
    assert ticket_redeem(ticket) == (str(member.id), None)
    assert ticket_redeem(ticket) is None


def test_ticket_api_refuses_anonymous_callers_and_serves_the_dashboard(world, settings):
    settings.REALTIME_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    assert issue_ticket_over_api().status_code == 401
    manager, member = world.users["manager"], world.users["member"]
    response = issue_ticket_over_api(session_user=manager)
    assert response.status_code == 201
    ticket = response.data["ticket"]

    async def body():
        comm = await opened(socket_for(ticket=ticket, origin=ALLOWED_ORIGIN))
        entry = await start_timer(member, world.project_team)
        assert (await events(comm, 1))[0]["data"]["id"] == entry["id"]
        await comm.disconnect()

    run(body)


# --------------------------------------------------------------------------- client messages and limits


def test_ping_pong_and_a_bad_message_gets_an_error_without_closing(world):
    token = token_for(world.users["member"])

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        await comm.send_json_to({"type": "subscribe", "to": "everything"})
        assert (await receive(comm))["type"] == "error"
        await comm.send_to(text_data="{not json")
        assert (await receive(comm))["type"] == "error"
        await comm.send_json_to({"type": "resume", "cursor": "yesterday"})
        assert (await receive(comm))["type"] == "error"
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {"type": "pong"}  # still open
        await comm.disconnect()

    run(body)


def test_a_frame_over_64kb_closes_4429(world):
    token = token_for(world.users["member"])

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        near = json.dumps({"type": "ping", "pad": "x" * (60 * 1024)})
        await comm.send_to(text_data=near)
        assert await receive(comm) == {"type": "pong"}
        await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * (64 * 1024)}))
        await closes_with(comm, 4429, within=3)
        await comm.disconnect()

    run(body)


def test_more_than_20_messages_in_a_second_closes_4429(world):
    token = token_for(world.users["member"])

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")  # 1 ping so far
        await asyncio.sleep(1.05)  # that one leaves the window
        for _ in range(20):
            await comm.send_json_to({"type": "ping"})
        assert await events(comm, 20) == [{"type": "pong"}] * 20
        await comm.send_json_to({"type": "ping"})  # the 21st within the second
        await closes_with(comm, 4429, within=3)
        await comm.disconnect()

    run(body)


# --------------------------------------------------------------------------- delivery


def test_a_change_reaching_the_socket_through_two_groups_is_sent_once(world):
    owner = world.users["owner"]  # in the managers' group and their own user group
    token = token_for(owner)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        entry = await start_timer(owner, world.project_open)
        [event] = await events(comm, 1)
        assert event["data"]["id"] == entry["id"]
        assert await quiet(comm, 1)
        await comm.disconnect()

    run(body)


def test_roles_decide_who_gets_an_entry(world):
    users = world.users
    tokens = {name: token_for(users[name]) for name in ["member", "lead", "manager", "loner", "outsider"]}

    async def body():
        socks = {name: await opened(socket_for(token=t), subprotocol="bearer") for name, t in tokens.items()}
        entry = await start_timer(users["member"], world.project_team)
        for name in ["member", "lead", "manager"]:  # own devices, the team's LEAD, managers
            assert (await events(socks[name], 1))[0]["data"]["id"] == entry["id"], name
        for name in ["loner", "outsider"]:  # another member; another company
            assert await quiet(socks[name], 1), name
        for comm in socks.values():
            await comm.disconnect()

    run(body)


def test_resume_replays_missed_changes_in_order_then_goes_live(world, monkeypatch):
    monkeypatch.setattr(RealtimeConsumer, "page_size", 2)  # several pages
    member, loner, outsider = world.users["member"], world.users["loner"], world.users["outsider"]
    token = token_for(member)

    async def body():
        start = await sync_to_async(changelog_selectors.head_cursor)()
        for _ in range(3):  # started, then stopped+started twice: 5 changes
            await start_timer(member, world.project_team)
        await start_timer(loner, world.project_open)  # not the member's to see
        await start_timer(outsider, world.project_b)
        missed = await sync_to_async(_cursors_of)(member, start)
        assert len(missed) == 5

        comm = await opened(socket_for(token=token), subprotocol="bearer")
        await comm.send_json_to({"type": "resume", "cursor": start})
        # A change committed while the replay runs comes once, after the replay, in order.
        live = asyncio.ensure_future(start_timer(member, world.project_open))
        got = await events(comm, 7)
        await live
        everything = await sync_to_async(_cursors_of)(member, start)
        assert [e["cursor"] for e in got] == everything
        assert [e["type"] for e in got] == ["timer.started"] + ["timer.stopped", "timer.started"] * 3
        assert await quiet(comm, 0.5)
        await comm.disconnect()

    run(body)


def test_resume_from_a_pruned_cursor_asks_for_a_full_resync(world):
    token = token_for(world.users["member"])
    SyncState.objects.update_or_create(pk=1, defaults={"pruned_below": 3})

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        await comm.send_json_to({"type": "resume", "cursor": 1})
        reply = await receive(comm)
        assert (reply["type"], reply["code"]) == ("error", "cursor_gone")
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {"type": "pong"}
        await comm.disconnect()

    run(body)


def _cursors_of(user, after: int) -> list[int | None]:
    return list(
        Change.objects.filter(user_id=user.id, cursor__gt=after).order_by("cursor").values_list("cursor", flat=True)
    )


def _numbered(world, *specs) -> list[Change]:
    """Committed, numbered changes that nobody published (the test publishes them by hand,
    dropping some, as channels-redis does past a channel's capacity)."""
    ids = []
    for owner, kind in specs:
        is_entry = kind == "entry"
        change = unnumbered_change(
            world,
            user_id=world.users[owner].id if is_entry else None,
            project_id=world.project_open.id,
            entity="time_entry" if is_entry else "task",
            entity_id=world.project_open.id,
            event="entry.upserted" if is_entry else "task.upserted",
            payload={"n": len(specs)},
        )
        ids.append(change.id)
    assert sequencer._number_batch() == len(ids)
    return list(Change.objects.filter(id__in=ids).order_by("cursor"))


def _message(change: Change, group: str, prev: int | None) -> dict:
    event = publishing.envelope(
        event=change.event, cursor=change.cursor, company_id=change.company_id, data=change.payload, at=change.at
    )
    return {"type": publishing.EVENT_MESSAGE, "event": event, "group": group, "prev": prev}


def test_changes_still_being_published_when_the_socket_opens_arrive_once(world):
    member = world.users["member"]
    token = token_for(member)

    async def body():
        # Committed and numbered, not yet published (the sync batch publishes on a worker).
        c1, c2 = await sync_to_async(_numbered)(world, ("member", "entry"), ("member", "entry"))
        comm = socket_for(token=token)
        assert (await comm.connect(timeout=5))[0]
        assert [e["cursor"] for e in await events(comm, 2)] == [c1.cursor, c2.cursor]
        await sync_to_async(sequencer.publish_pending)()  # the publisher catches up
        assert await quiet(comm, 0.5)  # and nothing comes twice
        await comm.disconnect()

    run(body)


def test_a_dropped_message_is_filled_from_the_change_log_in_order(world):
    member = world.users["member"]
    token = token_for(member)
    mine = audience.user_group(member.id)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        c1, other, c2, c3 = await sync_to_async(_numbered)(
            world, ("member", "entry"), ("loner", "entry"), ("member", "entry"), ("member", "entry")
        )
        layer = get_channel_layer()
        await layer.group_send(mine, _message(c1, mine, None))
        # c2 was dropped on the way; c3 says the group's previous message was c2.
        await layer.group_send(mine, _message(c3, mine, c2.cursor))
        got = await events(comm, 3)
        assert [e["cursor"] for e in got] == [c1.cursor, c2.cursor, c3.cursor]
        assert other.cursor not in [e["cursor"] for e in got]  # the loner's entry stays theirs
        assert await quiet(comm, 0.5)
        await comm.disconnect()

    run(body)


def test_sync_applied_before_the_worker_publishes_the_batch_does_not_hide_its_changes(world):
    """The batch's answer sends sync.applied (carrying the batch's last cursor) from the web
    process at once, while a worker publishes the batch's changes afterwards: the changes must
    still reach the socket (found by the realtime benchmark: a 500-item batch arrived as 0)."""
    member = world.users["member"]
    token = token_for(member)
    mine = audience.user_group(member.id)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        c1, c2 = await sync_to_async(_numbered)(world, ("member", "entry"), ("member", "entry"))
        applied = publishing.envelope(
            event="sync.applied", cursor=c2.cursor, company_id=None, at=timezone.now(), data={"processed": 2}
        )
        await sync_to_async(publishing.send_to_groups)(
            [mine], {"type": publishing.EVENT_MESSAGE, "event": applied, "group": None, "prev": None}
        )
        await sync_to_async(sequencer.publish_pending)()  # the worker, later
        got = await events(comm, 3)
        assert [(e["type"], e["cursor"]) for e in got] == [
            ("sync.applied", c2.cursor),
            ("entry.upserted", c1.cursor),
            ("entry.upserted", c2.cursor),
        ]
        assert await quiet(comm, 0.5)
        await comm.disconnect()

    run(body)


def test_sockets_of_one_process_in_the_same_groups_each_get_every_change_and_keep_getting_them(world):
    """The process's hub is in a group while any of its sockets is: one socket closing must not
    cut off another in the same groups, and a socket opening after all had closed subscribes
    again."""
    member = world.users["member"]
    token = token_for(member)

    async def body():
        first = await opened(socket_for(token=token), subprotocol="bearer")
        second = await opened(socket_for(token=token), subprotocol="bearer")
        (c1,) = await sync_to_async(_numbered)(world, ("member", "entry"))
        await sync_to_async(sequencer.publish_pending)()
        assert [e["cursor"] for e in await events(first, 1)] == [c1.cursor]
        assert [e["cursor"] for e in await events(second, 1)] == [c1.cursor]
        await first.disconnect()
        (c2,) = await sync_to_async(_numbered)(world, ("member", "entry"))
        await sync_to_async(sequencer.publish_pending)()
        assert [e["cursor"] for e in await events(second, 1)] == [c2.cursor]
        assert await quiet(second, 0.3)
        await second.disconnect()
        third = await opened(socket_for(token=token), subprotocol="bearer")  # none open before it
        (c3,) = await sync_to_async(_numbered)(world, ("member", "entry"))
        await sync_to_async(sequencer.publish_pending)()
        assert [e["cursor"] for e in await events(third, 1)] == [c3.cursor]
        assert await quiet(third, 0.3)
        await third.disconnect()

    run(body)


def test_a_socket_whose_inbox_overflowed_still_gets_every_change_in_order(world, monkeypatch):
    """A socket that falls behind drops its oldest group messages, as a full channel did; the
    gap check fetches what they carried from the change log."""
    monkeypatch.setattr(RealtimeConsumer, "inbox_limit", 1)
    member = world.users["member"]
    token = token_for(member)
    mine = audience.user_group(member.id)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        c1, c2, c3 = await sync_to_async(_numbered)(
            world, ("member", "entry"), ("member", "entry"), ("member", "entry")
        )
        hub = Hub.for_layer(get_channel_layer())
        # Three messages handed over before the socket runs at all: its inbox keeps the last.
        hub.dispatch(_message(c1, mine, None))
        hub.dispatch(_message(c2, mine, c1.cursor))
        hub.dispatch(_message(c3, mine, c2.cursor))
        got = await events(comm, 3)
        assert [e["cursor"] for e in got] == [c1.cursor, c2.cursor, c3.cursor]
        assert await quiet(comm, 0.5)
        await comm.disconnect()

    run(body)


def test_a_change_dropped_while_a_later_one_got_through_is_still_delivered(world):
    member = world.users["member"]
    token = token_for(member)
    mine, everyone = audience.user_group(member.id), audience.company_all_group(world.a.id)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        e1, t2, e3, t4 = await sync_to_async(_numbered)(
            world, ("member", "entry"), ("", "task"), ("member", "entry"), ("", "task")
        )
        layer = get_channel_layer()
        await layer.group_send(mine, _message(e1, mine, None))
        # t2 (company group) was dropped, e3 (user group) got through, then t4 shows the loss.
        await layer.group_send(mine, _message(e3, mine, e1.cursor))
        await layer.group_send(everyone, _message(t4, everyone, t2.cursor))
        got = [e["cursor"] for e in await events(comm, 4)]
        assert got == [e1.cursor, e3.cursor, t2.cursor, t4.cursor]
        assert await quiet(comm, 0.5)
        await comm.disconnect()

    run(body)


# --------------------------------------------------------------------------- closing


def test_logout_closes_that_devices_socket_4401_and_only_that_one(world, monkeypatch):
    monkeypatch.setattr(RealtimeConsumer, "liveness_seconds", 60)  # the close message alone
    member = world.users["member"]
    phone, laptop = device(member)[0], device(member)[0]

    async def body():
        on_phone = await opened(socket_for(token=phone), subprotocol="bearer")
        on_laptop = await opened(socket_for(token=laptop), subprotocol="bearer")
        assert await sync_to_async(_logout)(phone) == 204
        await closes_with(on_phone, 4401, within=5)
        await on_laptop.send_json_to({"type": "ping"})
        assert await receive(on_laptop) == {"type": "pong"}
        await on_phone.disconnect()
        await on_laptop.disconnect()

    run(body)


def test_a_revoked_session_closes_even_if_the_close_message_is_lost(world, monkeypatch):
    monkeypatch.setattr(RealtimeConsumer, "liveness_seconds", 0.2)
    token, session_id = device(world.users["member"])

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        await sync_to_async(mark_sessions_revoked)([session_id])  # revoked, but no message sent
        await closes_with(comm, 4401, within=2)
        await comm.disconnect()

    run(body)


def test_a_removed_member_is_told_to_reconnect_and_then_sees_nothing_of_the_company(world):
    member, loner = world.users["member"], world.users["loner"]
    token = token_for(member)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        membership = await sync_to_async(Membership.objects.get)(company=world.a, user=member)
        await sync_to_async(org_services.member_remove)(membership=membership)
        await closes_with(comm, 4403, within=3)
        await comm.disconnect()
        again = await opened(socket_for(token=token), subprotocol="bearer")
        await start_timer(loner, world.project_open)
        await sync_to_async(_create_task)(world)  # a project-wide change members used to get
        assert await quiet(again, 1)
        await again.disconnect()

    run(body)


def _create_task(world):
    from tracking import services as tracking

    return tracking.task_create(project=world.project_open, data={"title": "Kickoff"})


def test_a_promoted_member_reconnects_and_then_sees_everyones_entries(world):
    member, loner = world.users["member"], world.users["loner"]
    token = token_for(member)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        membership = await sync_to_async(Membership.objects.get)(company=world.a, user=member)
        await sync_to_async(org_services.member_update)(membership=membership, changes={"role": Role.MANAGER})
        await closes_with(comm, 4403, within=3)
        await comm.disconnect()
        again = await opened(socket_for(token=token), subprotocol="bearer")
        entry = await start_timer(loner, world.project_open)
        assert (await events(again, 1))[0]["data"]["id"] == entry["id"]
        await again.disconnect()

    run(body)


def test_a_member_made_lead_reconnects_and_then_gets_the_teams_entries(world):
    loner, member = world.users["loner"], world.users["member"]  # member is in the Design team
    token = token_for(loner)

    async def body():
        comm = await opened(socket_for(token=token), subprotocol="bearer")
        await sync_to_async(org_services.team_member_add)(team=world.team, user_id=loner.id, role="LEAD")
        await closes_with(comm, 4403, within=3)
        await comm.disconnect()
        again = await opened(socket_for(token=token), subprotocol="bearer")
        entry = await start_timer(member, world.project_open)
        assert (await events(again, 1))[0]["data"]["id"] == entry["id"]
        await again.disconnect()

    run(body)


# --------------------------------------------------------------------------- presence


def test_managers_see_a_user_come_online_with_their_first_socket_and_leave_with_their_last(world):
    manager, member, loner = world.users["manager"], world.users["member"], world.users["loner"]
    manager_token, loner_token = token_for(manager), token_for(loner)
    phone, laptop = token_for(member), token_for(member)

    async def body():
        dashboard = await opened(socket_for(token=manager_token), subprotocol="bearer")
        colleague = await opened(socket_for(token=loner_token), subprotocol="bearer")
        on_phone = await opened(socket_for(token=phone), subprotocol="bearer")
        [online] = await presence_of(dashboard, member, 1)
        assert online["data"] == {"user_id": str(member.id), "online": True}
        assert (online["cursor"], online["company_id"]) == (None, str(world.a.id))
        on_laptop = await opened(socket_for(token=laptop), subprotocol="bearer")
        assert await presence_of(dashboard, member, 0.5) == []  # already online
        await on_phone.disconnect()
        assert await presence_of(dashboard, member, 0.5) == []  # the laptop is still connected
        await on_laptop.disconnect()
        [offline] = await presence_of(dashboard, member, 1)
        assert offline["data"] == {"user_id": str(member.id), "online": False}
        assert await presence_of(colleague, member, 0.2) == []  # only managers watch presence
        await dashboard.disconnect()
        await colleague.disconnect()

    run(body)


# --------------------------------------------------------------------------- over real sockets


@pytest.fixture(scope="module")
def daphnes(django_db_setup, tmp_path_factory):
    """Two daphne processes (two ports), as two web processes of one deployment: they share
    nothing but PostgreSQL and the Redis channel layer."""
    with daphne_servers([free_port(), free_port()], tmp_path_factory.mktemp("daphne")) as ports:
        yield ports


def real_socket(port, *, token=None, ticket=None, cookie=None, origin=None):
    uri = f"ws://127.0.0.1:{port}/ws/realtime/" + (f"?ticket={ticket}" if ticket else "")
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else None
    return ws_connect(
        uri,
        subprotocols=["bearer", token] if token else None,
        origin=origin,
        additional_headers=headers,
        open_timeout=5,
    )


async def next_event(ws, timeout: float = 5) -> dict:
    """The next message, skipping presence events (only the presence test looks at them)."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if message["type"] != "presence.changed":
            return message


async def silent(ws, seconds: float) -> bool:
    """Nothing but presence arrives within ``seconds``."""
    try:
        await next_event(ws, seconds)
    except TimeoutError:
        return True
    return False


async def presence_on(ws, user, timeout: float = 5) -> dict:
    """The next presence event about ``user``."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if message["type"] == "presence.changed" and message["data"]["user_id"] == str(user.id):
            return message


async def close_code(ws, within: float) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await next_event(ws, within)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


async def ping(ws) -> None:
    await ws.send(json.dumps({"type": "ping"}))
    assert await next_event(ws) == {"type": "pong"}


@pytest.mark.slow
def test_real_sockets_on_two_processes_get_a_rest_timer_start_by_role(world, daphnes):
    a, b = daphnes
    users = world.users
    member = users["member"]
    ticket = issue_ticket_over_api(token=token_for(member)).data["ticket"]
    tokens = {name: token_for(users[name]) for name in ["member", "lead", "loner", "outsider"]}
    cookie = cookie_for(users["manager"])

    async def body():
        async with (
            real_socket(a, token=tokens["member"]) as phone,
            real_socket(b, ticket=ticket) as laptop,
            real_socket(a, cookie=cookie, origin=f"http://127.0.0.1:{a}") as dashboard,
            real_socket(b, token=tokens["lead"]) as lead,
            real_socket(a, token=tokens["loner"]) as loner,
            real_socket(b, token=tokens["outsider"]) as outsider,
        ):
            assert phone.subprotocol == "bearer"
            for ws in (phone, laptop, dashboard, lead, loner, outsider):  # all open and listening
                await ping(ws)
            entry = await start_timer(member, world.project_team)
            got = {}
            for name, ws in [("phone", phone), ("laptop", laptop), ("dashboard", dashboard), ("lead", lead)]:
                event = await next_event(ws)
                got[name] = (event["type"], event["data"]["id"], event["cursor"])
            assert len(set(got.values())) == 1, got  # the same event, the same cursor
            assert got["phone"][:2] == ("timer.started", entry["id"])
            assert await silent(loner, 1.5)
            assert await silent(outsider, 0.2)

    run(body)


@pytest.mark.slow
def test_real_socket_refuses_a_foreign_origin_and_a_cookie_without_origin(world, daphnes):
    a, _ = daphnes
    cookie = cookie_for(world.users["manager"])
    token = token_for(world.users["member"])

    async def body():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with real_socket(a, token=token, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        async with real_socket(a, cookie=cookie) as no_origin:
            assert await close_code(no_origin, within=3) == 4401

    run(body)


@pytest.mark.slow
def test_real_socket_resumes_what_it_missed_while_offline(world, daphnes):
    a, b = daphnes
    member = world.users["member"]
    token = token_for(member)

    async def body():
        async with real_socket(a, token=token) as ws:
            await ping(ws)
            await start_timer(member, world.project_team)
            seen = await next_event(ws)
            assert seen["type"] == "timer.started"
        for _ in range(2):  # offline: stopped, started, stopped, started
            await start_timer(member, world.project_open)
        missed = await sync_to_async(_cursors_of)(member, seen["cursor"])
        async with real_socket(b, token=token) as ws:  # back, on the other process
            await ws.send(json.dumps({"type": "resume", "cursor": seen["cursor"]}))
            replayed = [await next_event(ws) for _ in missed]
            assert [e["cursor"] for e in replayed] == missed
            assert [e["type"] for e in replayed] == ["timer.stopped", "timer.started"] * 2
            live = await start_timer(member, world.project_team)
            after = [await next_event(ws) for _ in range(2)]
            assert [e["type"] for e in after] == ["timer.stopped", "timer.started"]
            assert after[1]["data"]["id"] == live["id"]
            assert after[0]["cursor"] > missed[-1]
            assert await silent(ws, 0.5)  # nothing twice

    run(body)


@pytest.mark.slow
def test_real_socket_closes_4401_within_5s_of_logout(world, daphnes):
    a, b = daphnes
    member = world.users["member"]
    phone, laptop = token_for(member), token_for(member)

    async def body():
        async with real_socket(a, token=phone) as on_phone, real_socket(b, token=laptop) as on_laptop:
            await ping(on_phone)
            await ping(on_laptop)
            started = time.monotonic()
            assert await sync_to_async(_logout)(phone) == 204
            assert await close_code(on_phone, within=5) == 4401
            assert time.monotonic() - started < 5
            await ping(on_laptop)  # the other device stays signed in

    run(body)


@pytest.mark.slow
def test_real_sockets_carry_presence_across_processes(world, daphnes):
    a, b = daphnes
    manager, member = world.users["manager"], world.users["member"]
    manager_token, member_token = token_for(manager), token_for(member)

    async def body():
        async with real_socket(a, token=manager_token) as dashboard:
            await ping(dashboard)
            async with real_socket(b, token=member_token) as ws:
                await ping(ws)
                online = await presence_on(dashboard, member)
                assert (online["data"]["online"], online["cursor"]) == (True, None)
            offline = await presence_on(dashboard, member)
            assert offline["data"]["online"] is False

    run(body)


@pytest.mark.slow
def test_a_change_committed_by_a_process_that_died_reaches_the_socket_through_the_worker(
    world, daphnes, celery_worker_process, monkeypatch
):
    from changelog.tasks import sequence_changes

    a, _ = daphnes
    member = world.users["member"]
    token = token_for(member)
    # The web process commits the change, then dies before its on-commit publish runs.
    monkeypatch.setattr(recording, "_flush", lambda: None)

    def cursor_of(entry_id):
        return Change.objects.get(entity_id=entry_id).cursor

    async def body():
        async with real_socket(a, token=token) as ws:
            await ping(ws)
            entry = await start_timer(member, world.project_team)
            assert await sync_to_async(cursor_of)(entry["id"]) is None
            assert await silent(ws, 0.5)
            await sync_to_async(sequence_changes.delay)()
            event = await next_event(ws, timeout=20)
            assert (event["type"], event["data"]["id"]) == ("timer.started", entry["id"])
            assert event["cursor"] == await sync_to_async(cursor_of)(entry["id"])

    run(body)
