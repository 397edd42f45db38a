"""Rate limits (SPEC: Operations), counted in the real Redis: 429 in the standard shape with
Retry-After, per user on /sync/* and globally, per client IP on the anonymous endpoints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from common import throttling
from conftest import database_url_for_subprocess
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Set some scopes' limits for one test: rates(sync=(3, 60))."""

    def set_rates(**limits):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **limits}

    return set_rates


def assert_throttled(response, *, window: int) -> None:
    body = assert_error(response, 429)
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= window


def test_sync_limit_is_per_user_with_retry_after(world, rates):
    rates(sync=(3, 60))
    member, owner = world.api("member"), world.api("owner")
    for _ in range(3):
        assert member.get("/api/v1/sync/changes").status_code == 200
    # the fourth in the window is refused, whichever /sync/ endpoint it is
    refused = member.get("/api/v1/sync/changes")
    assert_throttled(refused, window=60)
    # what the lean heartbeat path answers with is the same body
    assert refused.json() == throttling.throttled_body(int(refused["Retry-After"]))
    assert_throttled(member.post("/api/v1/sync/heartbeats", {"device_id": "d", "heartbeats": []}), window=60)
    # another user has a window of their own
    assert owner.get("/api/v1/sync/changes").status_code == 200
    # and the member's other endpoints only count against the (larger) global limit
    assert member.get("/api/v1/me").status_code == 200


def test_global_per_user_limit_covers_every_endpoint(world, rates):
    rates(user=(2, 60))
    member = world.api("member")
    assert member.get("/api/v1/me").status_code == 200
    assert member.get("/api/v1/sync/changes").status_code == 200
    assert_throttled(member.get("/api/v1/companies"), window=60)
    assert world.api("owner").get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    ("scope", "path", "body"),
    [
        ("login", "/api/v1/auth/login", {"email": "nobody@example.com", "password": "wrong-password-1"}),
        ("register", "/api/v1/auth/register", {"email": "bad"}),
        ("password_reset", "/api/v1/auth/password/forgot", {"email": "nobody@example.com"}),
        ("password_reset", "/api/v1/auth/password/reset", {"token": "x", "password": "y"}),
        ("refresh", "/api/v1/auth/refresh", {"refresh": "not-a-token"}),
    ],
)
def test_anonymous_endpoints_are_limited_per_client_ip(api, rates, scope, path, body):
    rates(**{scope: (2, 3600)})
    for _ in range(2):
        assert api.post(path, body, REMOTE_ADDR="10.9.0.1").status_code != 429
    assert_throttled(api.post(path, body, REMOTE_ADDR="10.9.0.1"), window=3600)
    # another address is not affected
    assert api.post(path, body, REMOTE_ADDR="10.9.0.2").status_code != 429


def test_forwarded_for_is_ignored_without_trusted_proxies(api, rates):
    rates(refresh=(1, 60))
    api.post("/api/v1/auth/refresh", {"refresh": "x"}, HTTP_X_FORWARDED_FOR="1.1.1.1")
    # a client cannot slip out of its window by writing a new X-Forwarded-For
    response = api.post("/api/v1/auth/refresh", {"refresh": "x"}, HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert_throttled(response, window=60)


def test_behind_a_trusted_proxy_each_client_has_its_own_window(api, rates, settings):
    settings.NUM_PROXIES = 1
    rates(refresh=(1, 60))
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    # the client wrote a fake entry on the left; the proxy appended the address it saw
    first = {"HTTP_X_FORWARDED_FOR": "9.9.9.9, 203.0.113.7", **proxy}
    assert api.post("/api/v1/auth/refresh", {"refresh": "x"}, **first).status_code == 401
    assert_throttled(api.post("/api/v1/auth/refresh", {"refresh": "x"}, **first), window=60)
    other = {"HTTP_X_FORWARDED_FOR": "9.9.9.9, 203.0.113.8", **proxy}
    assert api.post("/api/v1/auth/refresh", {"refresh": "x"}, **other).status_code == 401


def test_the_window_lives_in_redis_and_is_shared_across_processes(world, rates):
    """Another process (another web worker) spends the member's sync allowance; this one
    then refuses the member."""
    rates(sync=(3, 60))
    user_id = str(world.users["member"].id)
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": django_settings.REDIS_URL,
        "THROTTLE_SYNC_RATE": "3/min",
    }
    code = (
        "import django; django.setup()\n"
        "from common.throttling import hit\n"
        f"print([hit([('sync', {user_id!r})]) for _ in range(3)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "[None, None, None]", out.stderr
    assert_throttled(world.api("member").get("/api/v1/sync/changes"), window=60)
    assert world.api("owner").get("/api/v1/sync/changes").status_code == 200


def test_hit_is_callable_without_drf_and_reports_the_longest_wait(rates):
    rates(sync=(1, 60), user=(5, 600))
    checks = [("user", "u1"), ("sync", "u1")]
    assert throttling.hit(checks) is None
    wait = throttling.hit(checks)
    assert wait is not None
    assert 1 <= wait <= 60
    rates(sync=None)  # off: not counted at all
    assert throttling.hit([("sync", "u1")]) is None


def test_the_counter_never_leaves_a_count_without_a_window():
    """``add`` is the counter of every limit: giving a slot back to a window that has ended
    opens none (a DECR there left a count with no expiry: a lockout that never ended), a count
    found without an expiry gets one, and a count never goes below zero."""
    from common.redis import get_client, key

    redis = get_client()
    gone, stuck, live = key("t", "gone"), key("t", "stuck"), key("t", "live")
    assert throttling.add([(gone, 60, -1)]) == [(0, 0)]
    assert not redis.exists(gone)
    redis.set(stuck, -1)  # what the old DECR left behind
    [(count, ttl)] = throttling.add([(stuck, 60, 1)])
    assert (count, 0 < ttl <= 60) == (0, True)
    assert 0 < redis.ttl(stuck) <= 60
    throttling.add([(live, 60, 1)])
    assert throttling.add([(live, 60, -1), (live, 60, -1)])[1][0] == 0
    assert 0 < redis.ttl(live) <= 60


def test_a_scope_set_to_off_never_limits(world, rates):
    rates(sync=None, user=None)
    member = world.api("member")
    for _ in range(5):
        assert member.get("/api/v1/sync/changes").status_code == 200


def test_rate_settings_are_validated_at_start():
    env = {
        **os.environ,
        "THROTTLE_SYNC_RATE": "lots",
        "DATABASE_URL": "postgres://x@localhost/x",
        "REDIS_URL": "redis://x",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "THROTTLE_SYNC_RATE" in out.stderr


def test_unauthenticated_clients_are_not_counted_per_user(api, rates):
    rates(user=(1, 60))
    for _ in range(3):
        assert api.get("/api/v1/me").status_code == 401


def test_local_counts_share_the_window_with_every_process_and_the_view(rates):
    """The lean intake's batched counting: each process adds its counts to the same Redis key
    and reads back the total, so a user's window is one window whichever process served it."""
    import asyncio

    from redis.asyncio import Redis

    rates(sync=(3, 60))
    one, two = throttling.LocalCounts(), throttling.LocalCounts()  # two web processes

    async def body():
        client = Redis.from_url(django_settings.REDIS_URL)
        try:
            assert one.check([("sync", "u1")]) is None
            assert one.check([("sync", "u1")]) is None
            await one.flush(client)
            assert two.check([("sync", "u1")]) is None  # not flushed yet: it knows its own
            await two.flush(client)  # ... and now the total, 3
            wait = two.check([("sync", "u1")])
            assert wait is not None
            assert 1 <= wait <= 60
            assert two.check([("sync", "u2")]) is None  # someone else's window
            await two.flush(client)
        finally:
            await client.aclose()

    asyncio.run(body())
    assert throttling.hit([("sync", "u1")]) is not None  # the DRF throttle sees the same window


def test_a_flush_cancelled_while_redis_is_slow_keeps_its_counts(rates):
    """A process stopping (its flushing task cancelled) while a flush waits on Redis must not
    drop the counts it had taken: they stay pending for the next flush."""
    import asyncio

    from redis.asyncio import Redis

    rates(sync=(100, 60))
    counts = throttling.LocalCounts()

    async def body():
        async def never_answer(reader, writer):  # a Redis that accepts and then says nothing
            await reader.read()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=30)
        try:
            assert counts.check([("sync", "u1")]) is None
            assert counts.check([("sync", "u1")]) is None
            flushing = asyncio.create_task(counts.flush(client))
            await asyncio.sleep(0.3)  # it has taken the counts and waits for the answer
            assert not flushing.done()
            flushing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flushing
        finally:
            await client.aclose()
            server.close()

    asyncio.run(body())
    assert sum(counts.pending.values()) == 2
