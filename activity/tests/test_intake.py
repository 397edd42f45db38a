"""The lean heartbeat path (activity/intake.py): it answers ordinary requests exactly as the
Django view would, never weaker on who may write, and hands everything else to the view.
The contract itself (validation, companies, privacy) runs through both paths in
test_heartbeats.py."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.db import connection
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts import services as account_services
from accounts.personal_tokens import INGEST, personal_token_create, personal_token_revoke
from accounts.tests.factories import MembershipFactory
from activity.intake import APPLICATION_NAME
from activity.models import HeartbeatInbox
from organizations import services as org_services
from tests.support.api import assert_error
from tests.support.asgi import AsgiClient, body_bytes
from tests.support.heartbeats import URL, hb, send
from tests.support.metrics import scrape, value

pytestmark = pytest.mark.django_db(transaction=True)
STORED = ("company_id", "user_id", "timestamp", "duration", "app", "title", "url", "domain", "project_id", "pulsetime")
PER_RESPONSE = {"x-request-id", "date", "server"}
ROUTE = {"view": "sync-heartbeats", "method": "POST", "status": "202"}


@pytest.fixture
def lean(asgi_http):
    """``lean(api)``: a client through the ASGI app; ``lean.answered()``: how many requests
    the lean path answered itself."""
    app, loop = asgi_http

    def client(api):
        return AsgiClient(app, loop, dict(api._credentials))

    client.answered = lambda: app.answered
    client.app_and_loop = (app, loop)
    return client


def stored(device: str) -> list[tuple]:
    return list(HeartbeatInbox.objects.filter(device_id=device).order_by("timestamp").values_list(*STORED))


def test_an_ordinary_batch_is_answered_and_stored_exactly_as_django_does(world, lean):
    batch = [hb(30), hb(20, app="Firefox", url="https://docs.example.org/a"), hb(10, title="")]
    django = send(world.api("member"), batch, device="one")
    client = lean(world.api("member"))
    before = lean.answered()
    response = send(client, batch, device="two")
    assert lean.answered() == before + 1  # served by the lean path, not handed on
    assert (response.status_code, response.json()) == (django.status_code, django.json()) == (202, {"accepted": 3})
    assert stored("two") == stored("one")
    django_headers = {k.lower(): v for k, v in django.items()}
    assert {k: v for k, v in response.headers.items() if k not in PER_RESPONSE} == {
        k: v for k, v in django_headers.items() if k not in PER_RESPONSE
    }


def test_unusual_requests_are_answered_by_django(world, lean):
    client = lean(world.api("member"))
    before = lean.answered()
    body = {"device_id": "d", "heartbeats": [hb(5)]}
    first = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"  # Django's idempotency layer saw both
    browser = client.post(URL, {"device_id": "d", "heartbeats": [hb(4)]}, HTTP_ORIGIN="http://127.0.0.1:8000")
    assert browser.status_code == 202
    assert_error(send(client, [{**hb(3), "duration": "long"}]), 400, attr="heartbeats.0.duration")
    assert lean.answered() == before
    assert HeartbeatInbox.objects.count() == 2


def test_a_revoked_session_is_refused_on_its_next_heartbeat(world, lean):
    client = lean(world.api("member"))
    assert send(client, [hb(10)]).status_code == 202
    account_services.sessions_revoke(user=world.users["member"], reason="test")
    assert_error(send(client, [hb(5)]), 401)
    assert HeartbeatInbox.objects.count() == 1


@pytest.mark.parametrize("form", ["bearer", "basic"])
def test_a_personal_token_is_answered_by_django_end_to_end(world, lean, form):
    """The lean path knows only session JWTs: a tracker's personal token (Bearer or Basic) is
    handed to the view, which authenticates it, checks its scope and stores."""
    token, raw = personal_token_create(user=world.users["member"], name="watcher", scopes=[INGEST])
    header = f"Bearer {raw}" if form == "bearer" else "Basic " + base64.b64encode(f"{raw}:".encode()).decode()
    client = AsgiClient(*lean.app_and_loop, {"HTTP_AUTHORIZATION": header})
    before = lean.answered()
    assert send(client, [hb(10)], device="pat").status_code == 202
    assert lean.answered() == before
    assert len(stored("pat")) == 1
    personal_token_revoke(token=token, by=world.users["member"])
    assert_error(send(client, [hb(5)], device="pat"), 401)
    assert len(stored("pat")) == 1


def test_a_removed_member_or_deactivated_user_stores_nothing_more(world, lean):
    member = world.users["member"]
    client = lean(world.api("member"))
    assert send(client, [hb(10)]).status_code == 202
    org_services.member_remove(membership=member.memberships.get(company=world.a))
    assert_error(send(client, [hb(5)]), 404)
    assert_error(send(client, [hb(5)], company=world.a.id), 404)
    owner = lean(world.api("owner"))
    assert send(owner, [hb(10)]).status_code == 202
    world.users["owner"].is_active = False
    world.users["owner"].save(update_fields=["is_active"])
    assert send(owner, [hb(5)]).status_code == 401
    assert HeartbeatInbox.objects.count() == 2


def test_the_remembered_company_never_outlives_a_second_membership(world, lean):
    client = lean(world.api("member"))
    assert send(client, [hb(10)]).status_code == 202  # remembered: the member's only company
    MembershipFactory(user=world.users["member"], company=world.b)
    assert_error(send(client, [hb(5)]), 400, attr="company")  # now they must say which
    assert send(client, [hb(5)], company=world.b.id).status_code == 202
    assert sorted(HeartbeatInbox.objects.values_list("company_id", flat=True)) == sorted([world.a.id, world.b.id])


def test_a_lost_database_connection_answers_503_and_the_next_request_recovers(world, lean):
    client = lean(world.api("member"))
    assert send(client, [hb(10)]).status_code == 202
    with connection.cursor() as cursor:  # as a restart of PostgreSQL would
        cursor.execute(  # this database's: parallel test processes (pytest-xdist) have their own
            "SELECT array_agg(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        )
        killed = cursor.fetchone()[0]
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [killed])
        assert killed
        for _ in range(100):  # termination is asynchronous: wait until they are gone
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [killed])
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.05)
    failed = send(client, [hb(5)])
    assert_error(failed, 503, code="service_unavailable")
    assert send(client, [hb(4)]).status_code == 202  # a fresh connection, no restart
    assert HeartbeatInbox.objects.count() == 2


def test_the_lean_path_logs_the_request_without_the_token(world, lean, request_logs):  # noqa: F811
    api = world.api("member")
    token = api._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    response = lean(api).post(URL, {"device_id": "d", "heartbeats": [hb(5)]}, HTTP_X_REQUEST_ID="hb-7")
    assert response["X-Request-ID"] == "hb-7"
    lines = [line for line in request_logs() if line.get("path") == URL]
    assert lines, request_logs()
    assert lines[-1]["request_id"] == "hb-7"
    assert lines[-1]["user_id"] == str(world.users["member"].id)
    assert lines[-1]["status"] == 202
    assert token not in json.dumps(request_logs())


def test_the_sync_rate_limit_counts_lean_requests_as_the_view_does(world, asgi_http, lean, settings):
    app, loop = asgi_http
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "sync": (2, 60)}
    client = lean(world.api("member"))
    assert send(client, [hb(10)]).status_code == 202
    loop.run(app.flush_limits())  # as the process does ten times a second
    assert send(world.api("member"), [hb(9)]).status_code == 202  # the view: the same window
    loop.run(app.flush_limits())
    refused, refused_by_view = send(client, [hb(8)]), send(world.api("member"), [hb(7)])
    assert_error(refused, 429, code="throttled")
    assert_error(refused_by_view, 429, code="throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert HeartbeatInbox.objects.count() == 2
    other = lean(world.api("owner"))  # someone else's window
    assert send(other, [hb(6)]).status_code == 202


def test_lean_requests_are_counted_in_the_route_metrics(world, lean, api):
    client = lean(world.api("member"))
    before = value(scrape(api), "django_http_responses_total_by_status_view_method_total", **ROUTE)
    for n in range(3):
        assert send(client, [hb(10 - n)]).status_code == 202
    after = value(scrape(api), "django_http_responses_total_by_status_view_method_total", **ROUTE)
    assert after - before == 3


def test_with_redis_unreachable_the_rate_limit_fails_open_and_nothing_is_lost(world, asgi_http, settings, caplog):
    from a2wsgi import WSGIMiddleware
    from django.core.wsgi import get_wsgi_application

    from activity.intake import HeartbeatIntake

    _, loop = asgi_http
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there: refused at once
    app = HeartbeatIntake(WSGIMiddleware(get_wsgi_application()))
    client = AsgiClient(app, loop, dict(world.api("member")._credentials))
    try:
        started = time.monotonic()
        assert [send(client, [hb(10 - n)]).status_code for n in range(3)] == [202] * 3
        assert time.monotonic() - started < 2  # no stall per request
        assert app.answered == 3
        assert HeartbeatInbox.objects.count() == 3
        # The background flush (ten times a second) would race the one below for the counts.
        loop.run(app.limits.stop())
        with pytest.raises(RedisConnectionError):  # the counts wait for Redis to come back
            loop.run(app.flush_limits())
        assert sum(app.limits.pending.values()) == 6  # three requests, two scopes each
    finally:
        loop.run(app.aclose())


def test_concurrent_requests_share_statements_and_each_keeps_its_own_answer(world, asgi_http):
    """Group commit: what queues while a statement runs goes in the next one, and one
    request's refusal (a revoked session) neither fails nor leaks into the others."""
    import asyncio

    app, loop = asgi_http
    clients = {role: AsgiClient(app, loop, dict(world.api(role)._credentials)) for role in ("owner", "outsider")}
    members = [AsgiClient(app, loop, dict(world.api("member")._credentials)) for _ in range(6)]
    revoked = AsgiClient(app, loop, dict(world.api("member")._credentials))
    for client in [*clients.values(), *members, revoked]:  # companies and rules known to the process
        assert send(client, [hb(60)]).status_code == 202
    account_services.sessions_revoke(
        sessions=[world.users["member"].device_sessions.order_by("-created_at").first()], reason="test"
    )
    writer = next(iter(app._writers.values()))
    statements, requests = writer.statements, writer.requests

    async def burst():
        everyone = [*clients.values(), *members, revoked] * 3
        bodies = [{"device_id": f"d{n}", "heartbeats": [hb(30 - n % 20)]} for n in range(len(everyone))]
        return await asyncio.gather(
            *(
                client._call(URL, "", client.headers_for(body), body_bytes(body))
                for client, body in zip(everyone, bodies, strict=True)
            )
        )

    answers = loop.run(burst())
    assert [a.status_code for a in answers] == ([202] * 8 + [401]) * 3
    assert writer.requests - requests >= 24  # (the revoked one's may be refused before or in a statement)
    assert writer.statements - statements < writer.requests - requests  # they shared statements
    stored = HeartbeatInbox.objects.filter(device_id__startswith="d")
    assert stored.filter(company_id=world.b.id).count() == 3  # the outsider's, in their company
    assert stored.count() == 24


def test_a_lone_surrogate_in_one_request_never_fails_the_others_in_its_statement(world, asgi_http):
    """``"\\ud800"`` is valid JSON but not text PostgreSQL can hold: it failed the group
    commit's whole INSERT, so every other user's request in that statement got 503. It is
    cleaned at decoding (U+FFFD, as browsers do), per request, before anything is shared."""
    import asyncio

    app, loop = asgi_http
    member, owner, outsider = (
        AsgiClient(app, loop, dict(world.api(r)._credentials)) for r in ("member", "owner", "outsider")
    )
    for client in (member, owner, outsider):  # companies and rules known to the process
        assert send(client, [hb(60)]).status_code == 202
    writer = next(iter(app._writers.values()))
    statements = writer.statements
    bodies = [
        (member, {"device_id": "bad", "heartbeats": [hb(30, title="broken \ud800 title")]}),
        (owner, {"device_id": "good-1", "heartbeats": [hb(30)]}),
        (outsider, {"device_id": "good-2", "heartbeats": [hb(30)]}),
    ]

    async def burst():
        return await asyncio.gather(
            *(client._call(URL, "", client.headers_for(body), body_bytes(body)) for client, body in bodies)
        )

    answers = loop.run(burst())
    assert [a.status_code for a in answers] == [202, 202, 202], [a.content for a in answers]
    assert writer.statements - statements == 1  # the three shared one statement
    assert sorted(
        HeartbeatInbox.objects.filter(device_id__in=["bad", "good-1", "good-2"]).values_list("device_id", "title")
    ) == [
        ("bad", "broken \ufffd title"),
        ("good-1", "stint.py"),
        ("good-2", "stint.py"),
    ]
